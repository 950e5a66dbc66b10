"""Event loop settings for async tests: asyncio debug mode and a production loop (uvloop).

Debug mode makes ``call_soon`` from a thread other than the loop's raise ``RuntimeError`` in that
thread. When the call was a future's callback (``asyncio.Event.set()`` from an executor thread), the
future is already done but the task waiting on it is never woken: ``wait_for(..., timeout)`` then
waits forever for the cancelled waiter, and the loop sleeps in ``select`` with no timer, deaf to
Ctrl-C (the signal lands in the worker thread). ``ThreadSafety`` keeps debug mode from losing the
wakeup: such a call is scheduled as ``call_soon_threadsafe`` would, and the test fails naming the line.

Debug mode also logs a warning for each callback or task step slower than the loop's
``slow_callback_duration`` (0.1 s); a test asserting on ``caplog`` would then see records plain pytest
never makes. ``QuietSlowCallbacks`` drops those records, unless the test set the threshold itself.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Generator, Mapping
from types import FrameType, TracebackType
from typing import Any

import pytest

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def resolve_factory(spec: str) -> LoopFactory | None:
    """``"asyncio"`` -> None (pytest-asyncio's default), ``"uvloop"``, or ``"module:callable"``."""
    if spec in ("", "asyncio"):
        return None
    module_name, _, attr = ("uvloop:new_event_loop" if spec == "uvloop" else spec).partition(":")
    if not attr:
        raise pytest.UsageError(f'awaitguard: loop = "{spec}" is not "asyncio", "uvloop" or "module:factory"')
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise pytest.UsageError(
            f'awaitguard: loop = "{spec}" needs `{module_name}`, which is not installed in this '
            f'environment ({exc.msg}); install it or set loop = "asyncio"'
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise pytest.UsageError(f'awaitguard: loop = "{spec}": `{module_name}.{attr}` is not a callable')
    return factory  # type: ignore[no-any-return]


class LoopFactories:
    """Implements pytest-asyncio's ``pytest_asyncio_loop_factories`` hook (pytest-asyncio >= 1.3)."""

    def __init__(self, name: str, factory: LoopFactory) -> None:
        self.name = name
        self.factory = factory

    def pytest_asyncio_loop_factories(self, config: pytest.Config, item: pytest.Item) -> Mapping[str, LoopFactory]:
        return {self.name: self.factory}


def configure(config: pytest.Config, loop: str) -> None:
    """Turn on asyncio debug mode for pytest-asyncio's loops, and register the loop factory."""
    if config.pluginmanager.has_plugin("asyncio") and getattr(config.option, "asyncio_debug", None) is None:
        config.option.asyncio_debug = True
    factory = resolve_factory(loop)
    if factory is None:
        return
    if not hasattr(config.hook, "pytest_asyncio_loop_factories"):
        raise pytest.UsageError(
            f'awaitguard: loop = "{loop}" needs pytest-asyncio >= 1.3 (its pytest_asyncio_loop_factories hook)'
        )
    config.pluginmanager.register(LoopFactories(loop.rpartition(":")[2] or loop, factory), "awaitguard-loop")


# asyncio's (and uvloop's) slow-callback warning, and the threshold every loop starts with
SLOW_CALLBACK = "Executing %s took %.3f seconds"
DEFAULT_SLOW_CALLBACK_DURATION = 0.1


class QuietSlowCallbacks(logging.Filter):
    """On the ``asyncio`` logger while active: drops debug mode's slow-callback warnings, which only the
    debug mode the smoke run turns on makes, and nothing else. A record of a loop whose
    ``slow_callback_duration`` the test changed is kept: that test asked for them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != SLOW_CALLBACK:
            return True
        loop = asyncio._get_running_loop()  # the loop logging it runs its callbacks in this thread
        duration = getattr(loop, "slow_callback_duration", DEFAULT_SLOW_CALLBACK_DURATION)
        return bool(duration != DEFAULT_SLOW_CALLBACK_DURATION)

    def __enter__(self) -> QuietSlowCallbacks:
        logging.getLogger("asyncio").addFilter(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        logging.getLogger("asyncio").removeFilter(self)


_SKIPPED = (
    os.path.dirname(asyncio.__file__) + os.sep,
    os.path.join(os.path.dirname(os.__file__), "concurrent") + os.sep,
    threading.__file__ or "threading.py",
)


def _caller(frame: FrameType | None, root: str) -> str:
    """``path:line: `func``` of the first frame outside asyncio, threading and concurrent.futures."""
    first = ""
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(_SKIPPED):
            where = f"{path.removeprefix(root)}:{frame.f_lineno}: `{frame.f_code.co_name}`"
            if path.startswith(root):
                return where
            first = first or where
        frame = frame.f_back
    return first


class ThreadSafety:
    """While active, a debug-mode ``call_soon`` from a foreign thread is recorded, not lost."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.found: list[str] = []
        self.previous: Any = None

    def __enter__(self) -> ThreadSafety:
        original = self.previous = asyncio.BaseEventLoop.call_soon
        found = self.found
        root = self.root

        def call_soon(loop: Any, callback: Any, *args: Any, context: Any = None) -> asyncio.Handle:
            owner = loop._thread_id
            if loop._debug and owner is not None and owner != threading.get_ident() and not loop.is_closed():
                where = _caller(sys._getframe(1), root)
                found.append(f"{where} called into the event loop from thread `{threading.current_thread().name}`")
                return loop.call_soon_threadsafe(callback, *args, context=context)  # type: ignore[no-any-return]
            return original(loop, callback, *args, context=context)

        setattr(asyncio.BaseEventLoop, "call_soon", call_soon)  # noqa: B010 - a method replaced for the run
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        setattr(asyncio.BaseEventLoop, "call_soon", self.previous)  # noqa: B010

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        self.found.clear()
        try:
            return (yield)
        finally:
            if self.found:
                lines = [
                    f"{where}; asyncio objects are not thread-safe (in debug mode asyncio raises in "
                    "that thread and the task awaiting the result is never woken: the test can hang)"
                    for where in dict.fromkeys(self.found)
                ]
                lines.append("    help: hand the call to the loop with `loop.call_soon_threadsafe(...)`")
                self.found.clear()
                pytest.fail("\n".join(lines), pytrace=False)
