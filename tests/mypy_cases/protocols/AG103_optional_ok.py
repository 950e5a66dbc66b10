"""A lock created on first use: `None` until then. Not an async-protocol misuse."""

import asyncio
from typing import Optional


class Lazy:
    def __init__(self) -> None:
        self._lock = None  # inferred `None`, set below
        self._typed: Optional[asyncio.Lock] = None

    async def ensure(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # mypy: "None" has no attribute "__aenter__"
            pass

    async def typed(self) -> None:
        async with self._typed:  # mypy: Item "None" of "Lock | None" has no attribute "__aenter__"
            pass
