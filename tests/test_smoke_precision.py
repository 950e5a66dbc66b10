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
