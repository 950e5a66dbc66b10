"""The smoke run must not fail a test that passes under plain pytest (pytester subprocess runs)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestDeprecationWarning")

NO_CACHE = "no:cacheprovider"
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

WARNS = """
import warnings

import pytest


async def dropped():
    return 1


@pytest.fixture
def quiet():
    warnings.simplefilter("ignore", DeprecationWarning)  # for the test, undone by pytest after it


def test_recwarn(recwarn):
    warnings.warn("x", UserWarning)
    assert len(recwarn) == 1
    assert recwarn.pop(UserWarning).message.args == ("x",)


async def test_recwarn_async(recwarn):
    warnings.warn("x", UserWarning)
    assert len(recwarn) == 1


def test_pytest_warns():
    with pytest.warns(UserWarning, match="x"):
        warnings.warn("x", UserWarning)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_marked_filter():
    warnings.warn("x", UserWarning)


def test_fixture_filter(quiet):
    warnings.warn("old", DeprecationWarning)


def test_error_filter_kept():
    with pytest.raises(UserWarning):
        warnings.warn("x", UserWarning)


def test_drop_under_recwarn(recwarn):
    dropped()
"""


def test_warning_fixtures_and_filters_behave_as_under_plain_pytest(pytester: pytest.Pytester) -> None:
    """``recwarn`` is entered in setup and read in the call: the plugin's per-phase filter must not
    undo it (it did, through a ``catch_warnings()`` around each phase); a dropped coroutine still fails."""
    pytester.makeini(INI)
    pytester.makepyfile(test_warns=WARNS)
    plain = pytester.runpytest_subprocess("-p", NO_CACHE)
    plain.assert_outcomes(passed=7)
    smoke = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE)
    smoke.assert_outcomes(passed=6, failed=1)
    smoke.stdout.fnmatch_lines(
        ["*_ test_drop_under_recwarn _*", "test_warns.py:*: AG102 `dropped(...)` creates a coroutine that is never*"]
    )


SLOW = """
import asyncio
import logging
import time


async def test_no_warnings_logged(caplog):
    await asyncio.sleep(0)
    time.sleep(0.15)  # this task step blocks the loop past debug mode's 0.1 s
    await asyncio.sleep(0)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_test_that_asks_for_them_gets_them(caplog):
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.05
    try:
        loop.call_soon(time.sleep, 0.1)
        loop.run_until_complete(asyncio.sleep(0.01))
    finally:
        loop.close()
    assert any(r.name == "asyncio" and "took" in r.getMessage() for r in caplog.records)
"""


def test_debug_modes_slow_callback_warnings_do_not_reach_caplog(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debug mode (on in a smoke run: ``PYTHONASYNCIODEBUG=1`` and pytest-asyncio's ``asyncio_debug``)
    logs `Executing <Task ...> took 0.150 seconds`; a test counting its log records must not see it."""
    pytester.makeini(INI)
    pytester.makepyfile(test_slow=SLOW)
    plain = pytester.runpytest_subprocess("-p", NO_CACHE)
    plain.assert_outcomes(passed=2)
    monkeypatch.setenv("PYTHONASYNCIODEBUG", "1")  # as the hook runs pytest
    smoke = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE)
    smoke.assert_outcomes(passed=2)
