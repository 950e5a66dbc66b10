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


class AsyncCommands(Commands):
    async def ping_twice(self) -> bool:
        # `self` is neither client here: mypy picks the first item (`bool`); the real object is async
        return await self.ping() and await self.ping()


class Client(Commands):
    is_async: Literal[False] = False


class AsyncClientImpl(Commands):
    is_async: Literal[True] = True


async def use(client: Client, aclient: AsyncClientImpl) -> None:
    await aclient.ping()
    await client.ping()  # expect: AG101
