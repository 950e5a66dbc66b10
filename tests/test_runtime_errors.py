"""The docs quote real CPython errors: run each rule's Example (it fails that way) and Use instead (it runs)."""

from __future__ import annotations

import asyncio
import gc
import re
import sys
import warnings
from types import ModuleType

import pytest

from test_docs import page_blocks


def load(code: str, kind: str) -> ModuleType:
    """The Example or Use instead block of ``code``'s published page (``docs/rules/<CODE>.md``)."""
    source = page_blocks(code)[kind]
    module = ModuleType(f"example_{code}")
    exec(compile(source, f"<{code} {kind}>", "exec"), module.__dict__)
    return module


def run(value: object) -> object:
    return asyncio.run(value) if asyncio.iscoroutine(value) else value  # type: ignore[arg-type]


def test_ag101_example_raises_the_documented_type_error() -> None:
    expected = "can't be awaited" if sys.version_info >= (3, 14) else "can't be used in 'await' expression"
    with pytest.raises(TypeError, match=re.escape(expected)):
        run(load("AG101", "Example").handler())
    assert run(load("AG101", "Use instead").handler()) == {"mode": "prod"}


def test_ag102_example_never_runs_the_coroutine_and_fails_on_the_value() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TypeError, match=re.escape("unsupported operand type(s) for +: 'coroutine' and 'int'")):
            run(load("AG102", "Example").nightly())
        gc.collect()
    assert any("coroutine 'refresh_index' was never awaited" in str(w.message) for w in caught)
    assert any("coroutine 'count_items' was never awaited" in str(w.message) for w in caught)
    assert run(load("AG102", "Use instead").nightly()) == 4


def test_ag103_example_raises_the_documented_error() -> None:
    if sys.version_info >= (3, 11):
        error: type[Exception] = TypeError
        text = "does not support the asynchronous context manager protocol"
    else:
        error, text = AttributeError, "__aenter__"
    with pytest.raises(error, match=text):
        run(load("AG103", "Example").handler())
    assert run(load("AG103", "Use instead").handler()) == "s"


def test_ag104_example_raises_the_documented_type_error() -> None:
    with pytest.raises(TypeError, match="'async_generator' object is not iterable"):
        load("AG104", "Example").total()
    assert run(load("AG104", "Use instead").total()) == 1


def test_ag106_example_is_rejected_by_the_compiler() -> None:
    with pytest.raises(SyntaxError, match="'await' outside async function"):
        load("AG106", "Example")
    assert run(load("AG106", "Use instead").handler()) == 1


def test_ag107_example_is_rejected_by_the_compiler() -> None:
    with pytest.raises(SyntaxError, match="'return' with value in async generator"):
        load("AG107", "Example")

    class Client:
        async def first(self) -> int:
            return 1

    async def collect() -> list[object]:
        return [page async for page in load("AG107", "Use instead").pages(Client())]

    assert asyncio.run(collect()) == [1]


def test_ag201_and_ag202_examples_pass_although_the_double_lies() -> None:
    """The point of AG201/AG202: the test stays green while production would fail."""
    for code in ("AG201", "AG202"):
        for kind in ("Example", "Use instead"):
            module = load(code, kind)
            sys.modules["example"] = module
            try:
                test = next(getattr(module, name) for name in dir(module) if name.startswith("test_"))
                assert test() is None
            finally:
                del sys.modules["example"]
