"""An abstract `async def` declared `-> AsyncIterator[int]` with no body: the implementations are
async generators, so callers iterate the call directly. mypy types the call as a coroutine of an
iterator; "add `await`" (`async for ... in await feed.items()`) would break every implementation."""

import abc
from collections.abc import AsyncIterator


class Feed(abc.ABC):
    @abc.abstractmethod
    async def items(self) -> AsyncIterator[int]:
        """Yield the feed's items."""

    async def placeholder(self) -> AsyncIterator[int]:
        raise NotImplementedError


class MemoryFeed(Feed):
    async def items(self) -> AsyncIterator[int]:
        yield 1

    async def placeholder(self) -> AsyncIterator[int]:
        yield 2


async def consume(feed: Feed) -> int:
    total = 0
    async for item in feed.items():
        total += item
    async for other in feed.placeholder():
        total += other
    return total
