from awaits.chains import Conn, helper
from awaits.chains import helper as gm


async def handler():
    await Conn().sync()  # expect: AG101
    await gm()  # expect: AG101
    await (helper())  # expect: AG101
    await(helper())  # expect: AG101
