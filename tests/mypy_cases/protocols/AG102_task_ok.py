"""Tasks and lazily set attributes: mypy's "maybe you forgot to use await" note is not AG102 here."""

import asyncio
from typing import Optional


async def work() -> None:
    return None


class Runner:
    def __init__(self) -> None:
        self._task = None  # mypy infers `None`; the task is stored later
        self._other: Optional[int] = None

    def start(self) -> "asyncio.Task[None]":
        # mypy: Task[None] where None is expected, "Maybe you forgot to use await?" -- awaiting
        # would block until the work ends; storing the task is the point
        self._task = asyncio.create_task(work())
        return self._task

    def running(self, task: "asyncio.Task[None]") -> bool:
        if task:  # a Task tested for truth: it runs anyway, no coroutine is lost
            return True
        return False
