from protocols.svc import asession, session


async def handler():
    async with session() as s:  # expect: AG103
        pass
    with asession() as t:  # expect: AG103
        pass
    return s, t
