"""Awaiting a value that may be awaitable: mypy is right that it is not always, but the failure is not certain."""

from collections.abc import Awaitable, Callable
from typing import Optional, Union


class Fut:
    def __await__(self):  # type: ignore[no-untyped-def]
        yield
        return 1


class Plain:
    pass


async def call(handler: Callable[[int], Optional[Awaitable[None]]]) -> None:
    await handler(1)  # an optional callback result: awaited when the handler is async


async def either(value: Union[Fut, Plain], task: Optional[Awaitable[int]]) -> None:
    await value  # Plain fails, Fut works: not certain
    await task  # None until set


class Server:
    def __init__(self) -> None:
        self.task = None  # inferred `None`; a task is stored by start()

    async def stop(self) -> None:
        await self.task  # awaited once set: not certain to fail
