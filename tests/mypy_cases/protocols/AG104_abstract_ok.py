"""Abstract and placeholder `async def` methods: what a call gives is the implementations' choice."""

import abc
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any


class Feed(abc.ABC):
    @abc.abstractmethod
    async def items(self) -> AsyncIterator[int]:
        """Yield the feed's items (the implementations are async generators)."""

    async def placeholder(self) -> AsyncIterator[int]:
        raise NotImplementedError


class MemoryFeed(Feed):
    async def items(self) -> AsyncIterator[int]:
        yield 1

    async def placeholder(self) -> AsyncIterator[int]:
        yield 2


async def consume(feed: Feed) -> int:
    # mypy: a coroutine of an iterator; "write `await feed.items()`" would break every implementation
    total = 0
    async for item in feed.items():
        total += item
    async for other in feed.placeholder():
        total += other
    return total


class Chunks:
    """Async-iterable, and what a placeholder coroutine method returns."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise NotImplementedError


class Connector:
    async def connect(self) -> Chunks:
        raise NotImplementedError()  # subclasses are coroutines returning the iterable


async def open_connection(connector: Connector) -> Chunks:
    return await connector.connect()


class Body(abc.ABC):
    @abc.abstractmethod
    async def __aenter__(self) -> AsyncIterable[Any]:
        """Entering gives the body's chunks."""

    @abc.abstractmethod
    async def __aexit__(self, *args: object) -> None: ...


async def send(body: Body) -> None:
    async with body as chunks:
        async for chunk in chunks:
            print(chunk)
