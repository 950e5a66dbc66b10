from collections.abc import Coroutine
from typing import Any

from protocols.svc import coro


async def handler() -> int:
    total = coro() + 1  # expect: AG102
    return coro().real  # expect: AG102


async def stored() -> int:
    # one finding where the coroutine is created, not one per use: `await pending` at each use would
    # fail from the second use on (a coroutine is awaited once)
    pending = coro()  # expect: AG102
    first = pending.real
    return first + pending.imag


async def passed_in(pending: Coroutine[Any, Any, int]) -> int:
    return pending.real + pending.imag  # expect: AG102
