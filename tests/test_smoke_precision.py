"""The smoke run must not fail a test that passes under plain pytest (pytester subprocess runs)."""

from __future__ import annotations

import re
import sys

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


CLIENT = """
class Client:
    async def fetch(self, x=0):
        return x


async def handler(c):
    return await c.fetch()
"""

SYNC_DOUBLES = """
import asyncio
import functools
from unittest import mock

from client import Client, handler


async def _fake(*a, **k):
    return 5


def _done(value):
    future = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


async def test_ok_lambda_returning_a_coroutine(monkeypatch):
    monkeypatch.setattr(Client, "fetch", lambda self, *a: _fake())
    assert await handler(Client()) == 5


async def test_ok_def_returning_a_future(monkeypatch):
    def fake(self, *a):
        return _done(7)

    monkeypatch.setattr(Client, "fetch", fake)
    assert await handler(Client()) == 7


async def test_ok_def_returning_a_name(monkeypatch):
    def fake(self):
        made = _fake()
        return made

    monkeypatch.setattr(Client, "fetch", fake)
    assert await handler(Client()) == 5


async def test_ok_partial_of_a_def_returning_a_call(monkeypatch):
    def fake(value):
        return _done(value)

    client = Client()
    monkeypatch.setattr(client, "fetch", functools.partial(fake, 3))
    assert await handler(client) == 3


def test_lambda_returning_a_literal(monkeypatch):
    monkeypatch.setattr(Client, "fetch", lambda *a, **k: True)


def test_magicmock():
    with mock.patch.object(Client, "fetch", mock.MagicMock()):
        pass


def test_def_returning_a_dict(monkeypatch):
    def fake(self):
        return {"id": 1}

    monkeypatch.setattr(Client, "fetch", fake)


def test_def_returning_nothing(monkeypatch):
    def fake(self):
        pass

    monkeypatch.setattr(Client, "fetch", fake)
"""

AG202 = (
    "AG202 `{double}` replaces async `client.Client.fetch`; the double's call returns no awaitable where the "
    "target's returns a coroutine, so an `await` of it raises TypeError in the test"
)


def test_a_sync_double_is_reported_only_when_its_source_proves_it_returns_no_awaitable(
    pytester: pytest.Pytester,
) -> None:
    """A ``def``/``lambda`` fake over an ``async def`` whose result is a call (a coroutine, a future) is
    a working double: reported only when every value it returns is plain (as the scan decides)."""
    pytester.makeini(INI)
    pytester.makepyfile(client=CLIENT, test_sync_doubles=SYNC_DOUBLES)
    plain = pytester.runpytest_subprocess("-p", NO_CACHE)
    plain.assert_outcomes(passed=8)
    smoke = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE)
    smoke.assert_outcomes(passed=4, failed=4)
    reported = {
        "test_lambda_returning_a_literal": ('"fetch", lambda *a', "lambda"),
        "test_magicmock": ("mock.MagicMock()", "MagicMock"),
        "test_def_returning_a_dict": ("fake)", "def test_def_returning_a_dict.<locals>.fake"),
        "test_def_returning_nothing": ("fake)", "def test_def_returning_nothing.<locals>.fake"),
    }
    lines = SYNC_DOUBLES.lstrip("\n").splitlines()
    numbers = []
    for test, (marker, double) in reported.items():
        start = next(n for n, line in enumerate(lines) if f"def {test}(" in line)
        number = next(n for n in range(start, len(lines)) if marker in lines[n]) + 1
        numbers.append(number)
        smoke.stdout.fnmatch_lines([f"*_ {test} _*", f"test_sync_doubles.py:{number}: " + AG202.format(double=double)])
    smoke.stdout.no_fnmatch_line("*test_ok_* - *")
    # the scan, deciding from the source alone, reports the same four patches and no other
    scan = pytester.run(sys.executable, "-m", "awaitguard", "scan", "--no-cache", "client.py", "test_sync_doubles.py")
    found = sorted(
        int(m.group(1)) for m in re.finditer(r"^test_sync_doubles\.py:(\d+):\d+: AG202 ", scan.stdout.str(), re.M)
    )
    assert found == sorted(numbers), scan.stdout.str()
