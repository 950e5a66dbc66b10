"""The one doubles policy (``awaitguard.patching``): the verdict on records as the three hooks fill them."""

from __future__ import annotations

from pathlib import Path

import pytest

from awaitguard.patching import ABSENT, Mismatch, PatchCall, ProductionAwaits, judge
from awaitguard.tree import FsTree

ASYNC_TARGET = PatchCall(
    form="patch",
    target="app.fetch",
    double="MagicMock",
    target_awaitable=True,
    double_awaitable=False,
    target_def="async def",
    mock=True,
)
SYNC_TARGET = PatchCall(
    form="patch",
    target="app.charge",
    double="AsyncMock",
    target_awaitable=False,
    double_awaitable=True,
    target_def="def",
)


def test_the_two_mismatches() -> None:
    assert judge(SYNC_TARGET).kind is Mismatch.AWAITABLE_OVER_SYNC
    assert judge(ASYNC_TARGET).kind is Mismatch.SYNC_OVER_ASYNC
    assert judge(SYNC_TARGET).reasons == ("double-awaitable", "target-not-awaitable")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"double_awaitable": True, "mock": False}, "same"),
        ({"target_awaitable": None}, "target-unknown"),
        ({"double_awaitable": None, "mock": False}, "double-unknown"),
        ({"spec": True}, "spec"),
        ({"configured_later": True}, "configured-later"),
        ({"side_effect": None}, "side-effect"),
        ({"return_value": None}, "return-value"),
        ({"target_def": "def"}, "target-not-async-def"),
        ({"target_def": ""}, "target-not-async-def"),
        ({"production_awaits": False}, "not-awaited-in-production"),
    ],
)
def test_no_finding_and_why(change: dict[str, object], reason: str) -> None:
    verdict = judge(ASYNC_TARGET._replace(**change))  # type: ignore[arg-type]
    assert verdict.kind is None
    assert reason in verdict.reasons


def test_a_mock_is_what_its_configuration_makes_it() -> None:
    # side_effect=<async def> or return_value=<future>: the sync mock fakes an async callable
    assert judge(ASYNC_TARGET._replace(side_effect=True)).kind is None
    assert judge(ASYNC_TARGET._replace(return_value=True)).kind is None
    assert judge(SYNC_TARGET._replace(double_awaitable=False, mock=True, side_effect=True)).kind is (
        Mismatch.AWAITABLE_OVER_SYNC
    )
    # a plain value returned, or a sync function as side_effect: still a sync double
    assert judge(ASYNC_TARGET._replace(return_value=False)).kind is Mismatch.SYNC_OVER_ASYNC
    assert judge(ASYNC_TARGET._replace(side_effect=False)).kind is Mismatch.SYNC_OVER_ASYNC
    # an AsyncMock's call is awaitable whatever its side_effect does
    assert judge(SYNC_TARGET._replace(mock=True, side_effect=False)).kind is Mismatch.AWAITABLE_OVER_SYNC
    assert judge(ASYNC_TARGET._replace(mock=False, side_effect=True)).kind is Mismatch.SYNC_OVER_ASYNC
    assert ASYNC_TARGET.side_effect == ABSENT


def test_an_async_def_decorated_into_a_sync_callable_is_left_alone() -> None:
    assert judge(SYNC_TARGET._replace(target_def="async def")).reasons[-1] == "target-async-def"


def test_production_is_asked_only_when_the_verdict_hinges_on_it() -> None:
    asked: list[str] = []

    def look(answer: bool) -> bool:
        asked.append("looked")
        return answer

    assert judge(SYNC_TARGET, lambda: look(False)).kind is Mismatch.AWAITABLE_OVER_SYNC
    assert judge(ASYNC_TARGET._replace(spec=True), lambda: look(False)).kind is None
    assert asked == []
    assert judge(ASYNC_TARGET, lambda: look(False)).kind is None
    assert judge(ASYNC_TARGET, lambda: look(True)).kind is Mismatch.SYNC_OVER_ASYNC
    assert judge(ASYNC_TARGET._replace(production_awaits=True), lambda: look(False)).kind is Mismatch.SYNC_OVER_ASYNC
    assert asked == ["looked", "looked"]


def test_production_awaits_reads_code_outside_the_tests(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "app" / "flow.py").write_text("async def run(svc):\n    return await svc.fetch(1)\n")
    (tmp_path / "app" / "test_flow.py").write_text("async def test(svc):\n    await svc.load()\n")
    (tmp_path / "tests" / "helpers.py").write_text("async def h(svc):\n    await svc.store()\n")
    (tmp_path / "conftest.py").write_text("async def f(svc):\n    await svc.close ()\n")
    (tmp_path / "app" / "jobs.py").write_text("def spawn(loop, job):\n    loop.create_task(job.fetch_all())\n")
    awaits = ProductionAwaits(FsTree(tmp_path))
    assert awaits("fetch")
    assert not awaits("load")  # a test file
    assert not awaits("store")  # under tests/
    assert not awaits("close")  # conftest.py
    assert not awaits("fetch_all")  # called, never awaited
