from awaits import svc
from awaits.svc import Repo, get_manager, typed_sync


async def handler():
    await get_manager()  # expect: AG101
    await svc.charge(3)  # expect: AG101
    await Repo().load()  # expect: AG101
    await typed_sync()  # expect: AG101


def untyped_caller_is_checked_too():
    async def inner():
        return await get_manager()  # expect: AG101

    return inner
