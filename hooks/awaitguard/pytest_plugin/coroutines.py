"""AG102 at run time: fail the test that dropped a coroutine, naming the line that created it.

Plain pytest turns ``RuntimeWarning: coroutine '...' was never awaited`` into a warning, or, under
``-W error``, into a ``PytestUnraisableExceptionWarning`` that lands on whichever later test happens to
trigger garbage collection. Here each test phase runs with the warning as an error (one filter
put first while the phase runs, and only that one taken out at its end, so ``recwarn`` and a
fixture's filters last from setup to teardown as under plain pytest), a private
``sys.unraisablehook`` catches it, and ``gc.collect()`` runs before the phase ends. Everything
alive after collection, and after each test, is frozen (``gc.freeze()``), so each collection only walks
what the current test made.
"""

from __future__ import annotations

import gc
import linecache
import os
import re
import sys
import warnings
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import pytest

from awaitguard.layout import is_test_code
from awaitguard.pytest_plugin.failures import Silencer, failure
from awaitguard.rules._base import definition_note, frame_note
from awaitguard.rules.doubles import AG201, unawaited_mock_words
from awaitguard.rules.dropped import AG102, never_awaited_args, unittest_method_args

# The message is the scanner's AG102 template (awaitguard.rules.CODES), over the arguments
# ``awaitguard.rules.dropped`` gives when only "never awaited" is known.
NEVER_AWAITED = r"coroutine .* was never awaited"
ORIGIN_DEPTH = 32
_SITE = os.sep + "site-packages" + os.sep
_UNITTEST_CASE = os.path.join("unittest", "case.py")

# ini filterwarnings lines added when enabled, so drops outside test phases fail too: the "never awaited"
# warning, and the unraisable exception it becomes when raised while a coroutine is finalized (pytest's
# message names the object, `<coroutine object ...>`); another object's `__del__` raising stays a warning,
# as under plain pytest
FILTERS = (
    f"error:{NEVER_AWAITED}:RuntimeWarning",
    "error:.*<coroutine object:pytest.PytestUnraisableExceptionWarning",
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


# unittest.mock refuses these prefixes as attributes; a different case slips through (asserT_...)
_ASSERT_PREFIXES = ("assert", "assret", "asert", "aseert", "assrt")


def _passed_as_argument(path: str, line: int, short: str) -> bool:
    """Whether ``short(`` sits inside another call's parentheses on that source line."""
    text = linecache.getline(path, line)
    for match in re.finditer(rf"\b{re.escape(short)}\(", text):
        before = text[: match.start()]
        if before.count("(") > before.count(")"):
            return True
    return False


def _mock_of(coro: object) -> Any:
    """The ``AsyncMock`` whose call made ``coro`` (its ``_execute_mock_call``), else None."""
    code = getattr(coro, "cr_code", None)
    frame = getattr(coro, "cr_frame", None)
    if code is None or frame is None or code.co_name != "_execute_mock_call":
        return None
    if not code.co_filename.endswith(os.path.join("unittest", "mock.py")):
        return None
    return frame.f_locals.get("self")


def _render(where: str, code: str, message: str, notes: list[tuple[str, str]], fix: str) -> str:
    lines = [f"{where}: {code} {message}" if where else f"{code} {message}"]
    lines += [f"    {at}: note: {note}" for at, note in notes]
    lines.append(f"    help: {fix}")
    return "\n".join(lines)


def describe(coro: object, root: str, silencer: Silencer | None = None) -> str | None:
    """The failure text for one dropped coroutine: where it was created, where it is defined.

    None when the coroutine was handed to another call in the code under test (``wait_for(ev.wait(),
    t)`` with ``wait_for`` a test double): the consumer dropped it, and awaiting it at that line would
    be wrong; or when the project silenced the finding (``silencer``).
    """
    name = str(getattr(coro, "__qualname__", None) or getattr(coro, "__name__", "?"))
    short = name.rsplit(".", 1)[-1]
    args = never_awaited_args(qualname=name)
    notes: list[tuple[str, str]] = []
    origin: tuple[tuple[str, int, str], ...] = getattr(coro, "cr_origin", None) or ()
    # cr_origin is innermost first: the first frame is the call that created the coroutine
    inside = [frame for frame in origin if frame[0].startswith(root) and _SITE not in frame[0]]
    project = inside or list(origin[:1])
    frames = [(f"{_relative(path, root)}:{line}", func) for path, line, func in project[:3]]
    body = getattr(coro, "cr_code", None)
    if body is not None and not inside and origin and origin[0][0].endswith(_UNITTEST_CASE):
        # an `async def test_x` of a sync TestCase: the test's definition is the place, not unittest's call
        defined = f"{_relative(body.co_filename, root)}:{body.co_firstlineno}"
        if silencer is not None and silencer.silenced(defined, AG102.code):
            return None
        return failure(defined, AG102.code, unittest_method_args(qualname=name))
    mock = _mock_of(coro)
    code = AG102.code if mock is None else AG201.code
    if silencer is not None and silencer.silenced(frames[0][0] if frames else "", code):
        return None
    if mock is not None:
        text = linecache.getline(project[0][0], project[0][1]) if project else ""
        return _describe_mock(mock, frames, text)
    if project and not is_test_code(_relative(project[0][0], root)):
        if _passed_as_argument(project[0][0], project[0][1], short):
            return None
    if body is not None:
        args["defined_at"] = f"{_relative(body.co_filename, root)}:{body.co_firstlineno}"
        notes.append((args["defined_at"], definition_note(short, "async def")))
    for index, (where, func) in enumerate(frames):
        notes.append((where, frame_note(func=func, created=index == 0)))
    return failure(frames[0][0] if frames else "", AG102.code, args, notes)


def _describe_mock(mock: Any, frames: list[tuple[str, str]], text: str) -> str:
    """An ``AsyncMock`` called without ``await``: the double's doing, never the caller's missing await."""
    try:
        name = str(mock._extract_mock_name())
    except Exception:  # a broken or foreign mock: fall back to its class
        name = type(mock).__name__
    last = name.rsplit(".", 1)[-1]
    # the caller's own spelling of the call (`c._trigger_event.asserT_any_await`), when the line shows it
    spelled = re.search(rf"([\w.]*\b{re.escape(last)})\s*\(", text) if last.isidentifier() else None
    notes = [(where, frame_note(func=func, created=False)) for where, func in frames[1:]]
    where = frames[0][0] if frames else ""
    meant = last.lower() if last.lower().startswith(_ASSERT_PREFIXES) else ""
    message, fix = unawaited_mock_words(
        name=name,
        spelled=spelled.group(1) if spelled is not None else "",
        meant=meant,
        guessed=bool(meant) and meant != last and hasattr(mock, meant),
    )
    return _render(where, AG201.code, message, notes, fix)


def _error_filter() -> tuple[Any, ...]:
    """Put "never awaited is an error" first among the warning filters; the entry added.

    Only that entry is added (and removed by ``_remove_filter``): a ``warnings.catch_warnings()``
    around a phase would also restore, at the phase's end, whatever the phase's fixtures set up for the
    test (``recwarn``'s recorder entered in setup, a fixture's ``simplefilter``), as plain pytest does not.
    """
    warnings.filterwarnings("error", message=NEVER_AWAITED, category=RuntimeWarning)
    return tuple(warnings.filters[0])


def _remove_filter(entry: tuple[Any, ...]) -> None:
    """Remove one ``entry`` from the warning filters in force now, if still there (a recorder entered
    during the phase restores its own copy of the list when it exits, ours in it)."""
    filters = cast("list[Any]", warnings.filters)
    if entry in filters:
        filters.remove(entry)
        mutated = getattr(warnings, "_filters_mutated", None)
        if callable(mutated):
            mutated()


class DroppedCoroutines:
    """A pytest plugin object: wraps each test phase, fails the phase that dropped a coroutine."""

    def __init__(self, rootpath: Path, silencer: Silencer | None = None) -> None:
        self.root = os.path.realpath(rootpath) + os.sep
        self.silencer = silencer

    def _phase(self, collect: bool, freeze: bool = False) -> Generator[None, Any, Any]:
        __tracebackhide__ = True  # a test's own failure shows its frames, not ours
        dropped: list[str] = []
        previous = sys.unraisablehook

        def hook(unraisable: Any) -> None:
            __tracebackhide__ = True
            exc = unraisable.exc_value
            if isinstance(exc, RuntimeWarning) and "was never awaited" in str(exc):
                text = describe(unraisable.object, self.root, self.silencer)
                if text is not None and text not in dropped:  # one creation site once per phase
                    dropped.append(text)
            else:
                previous(unraisable)

        sys.unraisablehook = hook
        added = _error_filter()
        try:
            try:
                result = yield
            finally:
                if collect:
                    gc.collect()
                if freeze:  # survivors of this test are not walked again by the next one
                    gc.freeze()
        finally:
            _remove_filter(added)
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
