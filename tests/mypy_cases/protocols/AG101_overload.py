"""One command mixin for a sync and an async client, told apart by the type of `self`."""

from collections.abc import Awaitable
from typing import Literal, Protocol, overload


class SyncClient(Protocol):
    is_async: Literal[False]


class AsyncClient(Protocol):
    is_async: Literal[True]


class Commands:
    @overload
    def ping(self: SyncClient) -> bool: ...

    @overload
    def ping(self: AsyncClient) -> Awaitable[bool]: ...

    def ping(self) -> bool | Awaitable[bool]:
        raise NotImplementedError


class Sorted:
    @overload
    def count(self) -> int: ...

    @overload
    def count(self: AsyncClient) -> Awaitable[int]: ...

    def count(self) -> int | Awaitable[int]:
        raise NotImplementedError


class AsyncCommands(Commands):
    async def ping_twice(self) -> bool:
        # `self` is neither client here: mypy picks the first item (`bool`); the real object is async
        return await self.ping() and await self.ping()


class Client(Commands):
    is_async: Literal[False] = False


class AsyncClientImpl(Commands, Sorted):
    is_async: Literal[True] = True


class SyncSorted(Sorted):
    is_async: Literal[False] = False


async def use(client: Client, aclient: AsyncClientImpl, sorted_client: SyncSorted) -> None:
    await aclient.ping()
    # both items fit an async client; mypy takes the first (`int`) only because it comes first
    await aclient.count()
    await client.ping()  # expect: AG101
    await sorted_client.count()  # expect: AG101
