"""Defined here, used through ``doubles.api`` (a re-export)."""

import asyncio


async def work() -> None:
    return None


def spawn() -> "asyncio.Task[None]":
    """A plain ``def`` that hands back a running task: callers may or may not await it."""
    return asyncio.create_task(work())


async def fetch_order(order_id: int) -> dict[str, int]:
    return {"id": order_id}
