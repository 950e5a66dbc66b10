"""A value typed `None` that is not a call's result may be set later: its `await` is not certain to fail."""

from typing import Any


class Holder:
    def __init__(self) -> None:
        self.waiter = None

    def arm(self, waiter: Any) -> None:
        self.waiter = waiter

    async def wait(self) -> None:
        await self.waiter
