from collections.abc import AsyncIterator

from protocols.svc import rows


async def stream() -> AsyncIterator[int]:
    return rows()  # a coroutine whose result is the async iterator


class NotIterable:
    pass


async def handler() -> None:
    async for i in stream():  # expect: AG102
        pass
    async for j in await stream():
        pass
    async for k in NotIterable():  # expect: AG104
        pass
