from protocols.svc import coro


async def handler() -> int:
    coro()  # expect: AG102
    if coro():  # expect: AG102
        pass
    value: int = coro()  # expect: AG102
    return value
