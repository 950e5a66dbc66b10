"""AG102 at run time: fail the test that dropped a coroutine, naming the line that created it.

Plain pytest turns ``RuntimeWarning: coroutine '...' was never awaited`` into a warning, or, under
``-W error``, into a ``PytestUnraisableExceptionWarning`` that lands on whichever later test happens to
trigger garbage collection. Here each test phase runs with the warning as an error, a private
``sys.unraisablehook`` catches it, and ``gc.collect()`` runs before the phase ends. Everything
alive after collection, and after each test, is frozen (``gc.freeze()``), so each collection only walks
what the current test made.
"""

from __future__ import annotations

import gc
import os
import sys
import warnings
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from awaitguard.pytest_plugin.failures import failure

# The message is the scanner's AG102 template (awaitguard.rules.CODES); the rule takes how the
# coroutine was lost and the fix as arguments. At run time only "never awaited" is known, and the
# fix is the one ``awaitguard.rules.dropped`` gives for a dropped statement.
HOW = "never awaited"
FIX = "write `await {expr}`, or keep the task returned by `asyncio.create_task(...)`"
NEVER_AWAITED = r"coroutine .* was never awaited"
ORIGIN_DEPTH = 32

# ini filterwarnings lines added when enabled, so drops outside test phases fail too
FILTERS = (
    f"error:{NEVER_AWAITED}:RuntimeWarning",
    "error::pytest.PytestUnraisableExceptionWarning",
)


class OriginTracking:
    """``sys.set_coroutine_origin_tracking_depth`` for the run, restored on exit."""

    def __init__(self, depth: int = ORIGIN_DEPTH) -> None:
        self.depth = depth
        self.previous = 0

    def __enter__(self) -> OriginTracking:
        self.previous = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(max(self.depth, self.previous))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        sys.set_coroutine_origin_tracking_depth(self.previous)


def _relative(path: str, root: str) -> str:
    return path[len(root) :] if path.startswith(root) else path


def describe(coro: object, root: str) -> str:
    """The failure text for one dropped coroutine: where it was created, where it is defined."""
    name = str(getattr(coro, "__qualname__", None) or getattr(coro, "__name__", "?"))
    short = name.rsplit(".", 1)[-1]
    expr = f"{short}(...)"
    args = {"expr": expr, "how": HOW, "qualname": name, "callee": name, "fix": FIX.format(expr=expr)}
    notes: list[tuple[str, str]] = []
    code = getattr(coro, "cr_code", None)
    if code is not None:
        args["defined_at"] = f"{_relative(code.co_filename, root)}:{code.co_firstlineno}"
        notes.append((args["defined_at"], f"`{short}` is `async def` here"))
    origin: tuple[tuple[str, int, str], ...] = getattr(coro, "cr_origin", None) or ()
    # cr_origin is innermost first: the first frame is the call that created the coroutine
    project = [frame for frame in origin if frame[0].startswith(root)] or list(origin[:1])
    frames = [(f"{_relative(path, root)}:{line}", func) for path, line, func in project[:3]]
    for index, (where, func) in enumerate(frames):
        notes.append((where, f"{'created here' if index == 0 else 'called from here'} (in `{func}`)"))
    return failure(frames[0][0] if frames else "", "AG102", args, notes)


class DroppedCoroutines:
    """A pytest plugin object: wraps each test phase, fails the phase that dropped a coroutine."""

    def __init__(self, rootpath: Path) -> None:
        self.root = os.path.realpath(rootpath) + os.sep

    def _phase(self, collect: bool, freeze: bool = False) -> Generator[None, Any, Any]:
        __tracebackhide__ = True  # a test's own failure shows its frames, not ours
        dropped: list[str] = []
        previous = sys.unraisablehook

        def hook(unraisable: Any) -> None:
            __tracebackhide__ = True
            exc = unraisable.exc_value
            if isinstance(exc, RuntimeWarning) and "was never awaited" in str(exc):
                dropped.append(describe(unraisable.object, self.root))
            else:
                previous(unraisable)

        sys.unraisablehook = hook
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("error", message=NEVER_AWAITED, category=RuntimeWarning)
                try:
                    result = yield
                finally:
                    if collect:
                        gc.collect()
                    if freeze:  # survivors of this test are not walked again by the next one
                        gc.freeze()
        finally:
            sys.unraisablehook = previous
            if dropped:
                pytest.fail("\n".join(dropped), pytrace=False)
        return result

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Freeze what exists after collection, so each per-test ``gc.collect()`` stays cheap."""
        gc.collect()
        gc.freeze()
        session.config.add_cleanup(gc.unfreeze)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        return (yield from self._phase(collect=False))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        return (yield from self._phase(collect=True))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        return (yield from self._phase(collect=True, freeze=True))
