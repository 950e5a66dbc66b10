"""A command layer shared by a sync and an async client: the host supplies `execute_command`."""

from collections.abc import Awaitable
from typing import Any, Protocol, Union


class Executor(Protocol):
    def execute_command(self, *args: Any) -> Union[Awaitable[Any], Any]: ...


class SearchCommands(Executor):
    def suglen(self, key: str) -> int:  # the sync client's result; the async client's is a coroutine
        return self.execute_command("FT.SUGLEN", key)  # type: ignore[no-any-return]


class Counter:
    def count(self) -> int:
        return self._count()

    def _count(self) -> int:
        return 1


async def use(search: SearchCommands, counter: Counter) -> None:
    await search.suglen("ac")
    await counter.count()  # expect: AG101
