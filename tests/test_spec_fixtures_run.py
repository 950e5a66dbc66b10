"""The `*_spec_*` fixture pairs (the type checkers' async suites, docs/accuracy.md) run as they claim:
each `_ok` twin runs without an error or a never-awaited coroutine, and each positive fails with the
documented error at its first reported line (the AG106 positives, rejected by the compiler, are
checked by `test_scan_fixtures.test_every_fixture_compiles`). The twins of the other compile-time
fixtures (`AG106_async_syntax_ok`, `AG107_ok`) run too, and so do the pairs of two false alarms found in
review (a mixin's `self.finish()` another base's plain `finish` answers; a method replaced from outside its
class; an `async def` defined alike in both branches of an `if`): the twin runs as working code, the positive
drops the coroutine it is reported for."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "scan"


def load(stem: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"spec_fixture_{stem}", FIXTURES / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Vendor:
    """What the `_ok` twin's unresolvable base stands for at run time: it supplies `__aexit__`."""

    async def __aexit__(self, *exc: object) -> bool:
        return False


def test_ok_twins_run_without_errors_or_dropped_coroutines(monkeypatch: pytest.MonkeyPatch) -> None:
    unknown = ModuleType("somewhere_unknown")
    unknown.Vendor = Vendor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "somewhere_unknown", unknown)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        awaits = load("AG101_spec_awaits_ok")
        assert asyncio.run(awaits.checkout()) is None
        dropped = load("AG102_spec_dropped_ok")
        assert asyncio.run(dropped.deliver(dropped.Mailbox())) is None
        assert asyncio.run(load("AG103_spec_protocols_ok").borrow()) is None
        assert asyncio.run(load("AG104_spec_protocols_ok").read_all()) == [1]
        placement = load("AG106_spec_placement_ok")
        helper, later, kept, lazy = asyncio.run(placement.handler())
        assert (helper, later, kept) == (1, 1, 1) and lazy is not None
        assert asyncio.run(placement.tally()) == ([1, 1], {1: 1})
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_placement_twins_run() -> None:
    """The must-not-report twins of the compile-time rules (AG106's async syntax, AG107) compile and run: their
    async generator expressions and async generators are iterated by coroutines, nothing is left un-awaited."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        syntax = load("AG106_async_syntax_ok")
        assert asyncio.run(syntax.read_all()) == (1, 1, ([1], {1}, {1: 1}), [1], [1], [1], ([1], [1]), 1)
        assert asyncio.run(load("AG107_ok").read_all()) == ([0, 1], 6, [1, 2], [1])
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


@pytest.mark.parametrize(
    ("stem", "entry", "errors", "text"),
    [
        ("AG101_spec_awaits", "checkout", (TypeError,), "can't be"),
        # 3.10: AttributeError: __aenter__
        (
            "AG103_spec_protocols",
            "borrow",
            (TypeError, AttributeError),
            "asynchronous context manager protocol|__aenter__",
        ),
        ("AG104_spec_protocols", "read_all", (TypeError,), "'async for' requires an object with __aiter__ method"),
        ("AG104_spec_protocols", "read_blocking", (TypeError,), "'async_generator' object is not iterable"),
    ],
)
def test_positives_fail_as_documented(stem: str, entry: str, errors: tuple[type[Exception], ...], text: str) -> None:
    function = getattr(load(stem), entry)
    with pytest.raises(errors, match=text):
        result = function()
        if asyncio.iscoroutine(result):
            asyncio.run(result)


def test_method_resolution_twins_run_and_positives_drop() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load("AG102_mro_sibling_ok").main() == ["done", "done"]
        asyncio.run(load("AG102_replaced_ok").main())
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sibling = load("AG102_mro_sibling")
        sibling.Handler().run()
        sibling.Other().run()
        load("AG102_replaced").emit("x")
        gc.collect()
    dropped = {str(w.message) for w in caught if "never awaited" in str(w.message)}
    assert dropped == {
        "coroutine 'Mixin.finish' was never awaited",
        "coroutine 'AsyncFirst.finish' was never awaited",
        "coroutine 'other_write' was never awaited",
    }


def test_defined_twice_twin_runs_and_positive_drops() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(load("AG102_defined_twice_ok").main()) == 1
        load("AG102_defined_twice").tick()
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == [
        "coroutine 'pause' was never awaited"
    ]
