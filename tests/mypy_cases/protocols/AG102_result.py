from protocols.svc import coro


async def handler() -> int:
    total = coro() + 1  # expect: AG102
    return coro().real  # expect: AG102


async def stored() -> int:
    pending = coro()
    return pending.real  # expect: AG102
