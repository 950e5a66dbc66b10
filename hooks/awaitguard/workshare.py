"""Sharing work between this process and worker processes: the scheduling primitives.

Two tasks use them: parsing (``parsing``) and judging (``parallel``). ``share`` does items
``0 .. count-1`` once each, the worker processes taking them from the front and this process from
the back until they meet; a feeder thread keeps each worker two items ahead and hands each result
over as it comes, so no worker waits while this process works on an item of its own.
``take_back`` cancels what was queued and no worker has begun, so it can be shared out again
(a worker cannot give back what it has started). ``Lent`` hands the running processes of one task
to another, so no process is ever forked beside running ones. ``jobs_for`` picks how many
processes a piece of work deserves.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

if TYPE_CHECKING:  # concurrent.futures is imported when processes are used: a small scan uses none
    from concurrent.futures import Future, ProcessPoolExecutor


def jobs_for(workers: int, count: int) -> int:
    """Processes for ``count`` files' work: ``workers`` if set, else one per 40 files up to one per core."""
    if workers > 0:
        return workers
    return max(1, min(os.cpu_count() or 1, count // 40 or 1))


class Lent(NamedTuple):
    """Worker processes another task started (forked judges), lent for parsing meanwhile."""

    executor: ProcessPoolExecutor
    helpers: int


_T = TypeVar("_T")
_Item = TypeVar("_Item")


def take_back(queued: list[tuple[_Item, Future[_T]]]) -> tuple[list[_Item], list[tuple[_Item, Future[_T]]]]:
    """The items of ``queued`` no worker has begun, taken back (their futures cancelled), and the
    rest, begun or done (a worker cannot give back what it has started)."""
    taken = [item for item, future in queued if future.cancel()]
    return taken, [(item, future) for item, future in queued if not future.cancelled()]


def share(
    count: int,
    helpers: int,
    local: Callable[[int], None],
    remote: Callable[[int], Future[_T]],
    finish: Callable[[int, _T], None],
) -> None:
    """Items ``0 .. count-1`` done once each: ``remote(i)`` (worker processes) from the front,
    ``local(i)`` (this process) from the back, until they meet.

    A feeder thread keeps two items per worker submitted (one near the end) and hands each result
    to ``finish``, so a worker never waits for this process to finish an item of its own before it
    gets more (the thread sleeps while it waits). A worker's error is raised here.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    lock = threading.Lock()
    ends = [0, count]  # the next item from the front, one past the last from the back

    def take(front: bool) -> int | None:
        with lock:
            if ends[0] >= ends[1]:
                return None
            if front:
                ends[0] += 1
                return ends[0] - 1
            ends[1] -= 1
            return ends[1]

    pending: dict[Future[_T], int] = {}

    def top_up() -> None:
        while True:
            with lock:
                left = ends[1] - ends[0]
            # near the end, one item per worker: a second one queued behind it may be one this
            # process runs out of work waiting for (a worker cannot give back what it has queued)
            if len(pending) >= (2 * helpers if left > 4 * helpers else helpers):
                return
            at = take(front=True)
            if at is None:
                return
            pending[remote(at)] = at

    def feed() -> None:
        while True:
            top_up()
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(pending.pop(future), future.result())

    top_up()  # in this thread: the first submit forks the workers, before any other thread runs
    with ThreadPoolExecutor(max_workers=1) as feeder:
        fed = feeder.submit(feed)
        while (at := take(front=False)) is not None:
            local(at)
        fed.result()
