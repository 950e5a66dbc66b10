"""A double that never returns (its body ends in `pytest.fail(...)` or `raise`): the test checks the target
is not called; if it were, the double fails the test before anything could await its result. The scan says
nothing of it either (starlette's `test_http_exception_does_not_use_threadpool`)."""

from typing import Any

import pytest

from doubles import svc


def refuse_fetch(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("fetch_user must not be called")


def test_fast_path_never_fetches(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_fetch(*args: Any, **kwargs: Any) -> None:
        pytest.fail("fetch_user should not be called")

    monkeypatch.setattr(svc, "fetch_user", fake_fetch)
    assert svc.charge(1)


def test_cached_path_never_fetches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("doubles.svc.fetch_user", refuse_fetch)
    assert svc.charge(2)
