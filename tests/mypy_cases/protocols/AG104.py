from protocols.svc import rows


async def handler():
    async for i in [1, 2]:  # expect: AG104
        pass
    for j in rows():  # expect: AG104
        pass
