from protocols.svc import coro


def refresh() -> None:
    coro()  # expect: AG102


async def refresh_async() -> None:
    coro()  # expect: AG102
