"""awaitguard-smoke's pytest plugin, run for real in pytest subprocesses (``pytester``)."""

from __future__ import annotations

import textwrap

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestDeprecationWarning")

NO_CACHE = "no:cacheprovider"
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

APP = """
import asyncio
from typing import Awaitable


def get_manager():
    return "manager"


async def fetch():
    return 1


def deferred() -> Awaitable[int]:
    return asyncio.sleep(0, result=1)


class Repo:
    async def load(self):
        return 1


class Awaitable_:
    def __await__(self):
        return asyncio.sleep(0).__await__()


class Reply(Awaitable_):  # awaitable through its base class
    pass


def answer() -> Reply:
    return Reply()


def later() -> "OnlyForTypeCheckers":  # noqa: F821 - unreadable at run time: not judged
    return Reply()


async def show():  # production awaits `fetch` and `load`: a sync double over them is AG202
    repo = Repo()
    return await fetch(), await repo.load()


async def job():  # handed to a runner, awaited by nothing: a sync double over it is left alone
    return 1
"""

DOUBLES = """
import asyncio
from unittest import mock

import pytest

import app


def test_asyncmock_with():
    with mock.patch("app.get_manager", new_callable=mock.AsyncMock):
        pass


@mock.patch("app.get_manager", new=mock.AsyncMock())
def test_asyncmock_decorator():
    pass


def test_asyncmock_start():
    patcher = mock.patch("app.get_manager", mock.AsyncMock())
    patcher.start()
    patcher.stop()


def test_mock_over_async_method():
    with mock.patch.object(app.Repo, "load", mock.Mock()):
        pass


def test_magicmock_multiple():
    with mock.patch.multiple("app", fetch=mock.MagicMock()):
        pass


def test_mocker_asyncmock(mocker):
    mocker.patch("app.get_manager", new=mock.AsyncMock())


def test_monkeypatch_lambda(monkeypatch):
    monkeypatch.setattr("app.fetch", lambda: 1)


def test_monkeypatch_async_def(monkeypatch):
    async def fake():
        return "manager"

    monkeypatch.setattr(app, "get_manager", fake)


def test_ok_default_patch_of_async():
    with mock.patch("app.fetch") as fetch:
        assert isinstance(fetch, mock.AsyncMock)


def test_ok_autospec():
    with mock.patch("app.get_manager", autospec=True), mock.patch("app.fetch", autospec=True):
        pass
    with mock.patch("app.fetch", new=mock.create_autospec(app.fetch)):
        pass


def test_ok_asyncmock_over_awaitable_annotation():
    with mock.patch("app.deferred", new=mock.AsyncMock(return_value=2)):
        pass


def test_ok_asyncmock_over_a_declared_awaitable_class():
    with mock.patch("app.answer", new_callable=mock.AsyncMock):
        pass


def test_ok_asyncmock_over_an_unreadable_annotation():
    with mock.patch("app.later", new_callable=mock.AsyncMock):
        pass


async def test_ok_real_async_method(monkeypatch):
    async def load(self):
        return 2

    monkeypatch.setattr(app.Repo, "load", load)
    assert await app.Repo().load() == 2


def test_ok_sync_doubles(mocker, monkeypatch):
    mocker.patch("app.get_manager", return_value="fake")
    monkeypatch.setattr(app, "get_manager", lambda: "fake")
    assert app.get_manager() == "fake"


def test_ok_mock_returning_future(monkeypatch):
    monkeypatch.setattr(app, "fetch", mock.Mock(return_value=asyncio.Future(loop=mock.Mock())))


def test_ok_library_target(monkeypatch):
    monkeypatch.setattr("asyncio.sleep", mock.Mock())


async def test_ok_pytest_asyncio_machinery():
    assert await app.fetch() == 1


def test_ok_sync_double_over_an_async_def_nothing_awaits(monkeypatch):
    monkeypatch.setattr(app, "job", mock.Mock())


def test_ok_fakes_that_only_raise(monkeypatch):
    def must_not_run(*args):
        pytest.fail("must not be called")

    monkeypatch.setattr(app, "fetch", must_not_run)
    monkeypatch.setattr(app.Repo, "load", mock.Mock(side_effect=RuntimeError("boom")))
"""


def line_of(source: str, text: str) -> int:
    """1-based line of the first line of ``source`` (as written to disk) containing ``text``."""
    for number, line in enumerate(textwrap.dedent(source).lstrip("\n").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in source")


AG201 = (
    "AG201 `{double}` replaces sync `{target}`; the double's call returns an awaitable where the target's "
    "does not, so an `await` of it passes in the test and raises TypeError in production"
)
AG202 = (
    "AG202 `{double}` replaces async `{target}`; the double's call returns no awaitable where the target's "
    "returns a coroutine, so an `await` of it raises TypeError in the test"
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makepyfile(app=APP, test_doubles=DOUBLES)
    return pytester


def test_doubles_caught_and_legitimate_forms_quiet(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--awaitguard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=12, failed=8)
    app_get_manager = "    app.py:5: note: `get_manager` is `def` here"
    help_sync = "    help: patch with `autospec=True`, or use `Mock(return_value=...)`"
    help_async = "    help: patch with `autospec=True`, or use `AsyncMock(return_value=...)`"
    expected = [
        (
            "test_asyncmock_with",
            'mock.patch("app.get_manager", new_callable',
            AG201,
            "AsyncMock",
            "app.get_manager",
            app_get_manager,
            help_sync,
        ),
        (
            "test_asyncmock_decorator",
            '@mock.patch("app.get_manager"',
            AG201,
            "AsyncMock",
            "app.get_manager",
            app_get_manager,
            help_sync,
        ),
        ("test_asyncmock_start", "patcher.start()", AG201, "AsyncMock", "app.get_manager", app_get_manager, help_sync),
        (
            "test_mock_over_async_method",
            "patch.object(app.Repo",
            AG202,
            "Mock",
            "app.Repo.load",
            "    app.py:18: note: `load` is `async def` here",
            help_async,
        ),
        (
            "test_magicmock_multiple",
            "patch.multiple",
            AG202,
            "MagicMock",
            "app.fetch",
            "    app.py:9: note: `fetch` is `async def` here",
            help_async,
        ),
        (
            "test_mocker_asyncmock",
            'mocker.patch("app.get_manager", new=',
            AG201,
            "AsyncMock",
            "app.get_manager",
            app_get_manager,
            help_sync,
        ),
        (
            "test_monkeypatch_lambda",
            'setattr("app.fetch", lambda',
            AG202,
            "lambda",
            "app.fetch",
            "    app.py:9: note: `fetch` is `async def` here",
            help_async,
        ),
        (
            "test_monkeypatch_async_def",
            'setattr(app, "get_manager", fake)',
            AG201,
            "async def test_monkeypatch_async_def.<locals>.fake",
            "app.get_manager",
            app_get_manager,
            help_sync,
        ),
    ]
    for test, marker, template, double, target, note, fix in expected:
        where = f"test_doubles.py:{line_of(DOUBLES, marker)}"
        result.stdout.fnmatch_lines(
            [f"*_ {test} _*", f"{where}: " + template.format(double=double, target=target), note, fix]
        )
    result.stdout.no_fnmatch_line("*test_ok_* - *")


def test_plain_pytest_stays_inert(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=20)
    result.stdout.no_fnmatch_line("*AG20*")


def test_without_typeguard_pytest_still_runs_and_instrumenting_says_why(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """awaitguard's pytest11 entry loads in every pytest run of an environment that has awaitguard,
    with or without its ``smoke`` extra: a missing typeguard matters only when it is asked for."""
    shadow = pytester.mkdir("no_typeguard")
    (shadow / "typeguard.py").write_text("raise ModuleNotFoundError(\"No module named 'typeguard'\")\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow))
    pytester.makeini(INI)
    pytester.makepyfile(app=APP, test_plain="def test_plain():\n    pass\n")
    off = ("-p", "no:cacheprovider", "-p", "no:typeguard")  # typeguard's own pytest11 entry would load it
    pytester.runpytest_subprocess(*off).assert_outcomes(passed=1)
    pytester.runpytest_subprocess("--awaitguard", *off).assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess("--awaitguard", "--awaitguard-packages=app", *off)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*awaitguard: typeguard is needed to instrument app (No module named 'typeguard')*"])
    assert "Traceback" not in result.stderr.str()


def test_ini_key_enables_and_flag_wins(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "awaitguard = true\n")
    pytester.makepyfile(app=APP)
    pytester.makepyfile(
        test_incident="""
        from unittest import mock

        def test_masked():
            with mock.patch("app.get_manager", new=mock.AsyncMock()):
                pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["test_incident.py:4: AG201 `AsyncMock` replaces sync `app.get_manager`*"])


DROPS = """
import app


def test_drops():
    app.fetch()


def test_innocent():
    assert app.get_manager() == "manager"


def test_drops_in_cycle():
    holder = [app.fetch()]
    holder.append(holder)


async def test_drops_in_async_test():
    app.fetch()


async def test_awaits():
    assert await app.fetch() == 1
"""


def test_dropped_coroutine_fails_the_test_that_dropped_it(project: pytest.Pytester) -> None:
    project.makepyfile(test_drops=DROPS)
    result = project.runpytest_subprocess("--awaitguard", "-p", "no:cacheprovider", "test_drops.py")
    result.assert_outcomes(passed=2, failed=3)
    for test, marker in [
        ("test_drops", "    app.fetch()"),
        ("test_drops_in_cycle", "holder = [app.fetch()]"),
        ("test_drops_in_async_test", "async def test_drops_in_async_test"),
    ]:
        line = line_of(DROPS, marker) + (1 if marker.startswith("async def") else 0)
        result.stdout.fnmatch_lines(
            [
                f"*_ {test} _*",
                f"test_drops.py:{line}: AG102 `fetch(...)` creates a coroutine that is never awaited; "
                "its body never runs (RuntimeWarning: coroutine 'fetch' was never awaited)",
                f"    app.py:{line_of(APP, 'async def fetch')}: note: `fetch` is `async def` here",
                f"    test_drops.py:{line}: note: created here (in `{test}`)",
                "    help: write `await fetch(...)`, or keep the task returned by `asyncio.create_task(...)`",
            ]
        )
    assert "test_innocent" not in "\n".join(line for line in result.stdout.lines if line.startswith("FAILED"))


def test_dropped_coroutine_passes_under_plain_pytest(project: pytest.Pytester) -> None:
    project.makepyfile(test_drops=DROPS)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "test_drops.py")
    result.assert_outcomes(passed=5)  # the warning count differs across CPythons
    result.stdout.fnmatch_lines(["*RuntimeWarning: coroutine 'fetch' was never awaited*"])


def test_typeguard_checks_configured_packages(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        typed="""
        def label(number: int) -> str:
            return str(number)
        """,
        test_typed="""
        import typed

        def test_wrong_type():
            typed.label("7")
        """,
    )
    result = pytester.runpytest_subprocess("--awaitguard", "--awaitguard-packages=typed", "-p", NO_CACHE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*TypeCheckError: argument "number" (str) is not an instance of int*'])
    result.stdout.fnmatch_lines(["awaitguard: smoke checks on; typeguard packages: typed; loop: asyncio"])


def test_typeguard_refuses_a_package_imported_too_early(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(typed="X = 1\n", earlyplugin="import typed\n", test_typed="def test_x():\n    pass\n")
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess(
        "--awaitguard", "--awaitguard-packages=typed", "-p", "earlyplugin", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: awaitguard: cannot instrument typed with typeguard: already imported before the smoke*"]
    )


def test_loop_factory_and_debug_mode(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        loopmod="""
        import asyncio

        def make():
            loop = asyncio.new_event_loop()
            loop.made_by = "loopmod"
            return loop
        """,
        test_loop="""
        import asyncio

        async def test_loop():
            loop = asyncio.get_running_loop()
            assert loop.get_debug()
            assert loop.made_by == "loopmod"
        """,
    )
    result = pytester.runpytest_subprocess("--awaitguard", "--awaitguard-loop=loopmod:make", "-p", NO_CACHE)
    result.assert_outcomes(passed=1)


def test_missing_loop_module_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("--awaitguard", "--awaitguard-loop=no_such_loop:new_event_loop")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ['ERROR: awaitguard: loop = "no_such_loop:new_event_loop" needs `no_such_loop`, which is not installed*']
    )


THREADED = """
import asyncio
import time


def set_later(event):
    time.sleep(0.2)
    event.set()


async def test_event_set_from_a_thread():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    done = loop.run_in_executor(None, set_later, event)
    await asyncio.wait_for(event.wait(), timeout=1)
    await done


async def test_ok_threadsafe():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    done = loop.run_in_executor(None, loop.call_soon_threadsafe, event.set)
    await asyncio.wait_for(event.wait(), timeout=1)
    await done
"""


def test_a_loop_call_from_a_thread_fails_the_test_instead_of_hanging(pytester: pytest.Pytester) -> None:
    # Under plain debug mode the wakeup of event.wait() is lost and wait_for waits forever for the
    # cancelled waiter (the run hung); the plugin hands the call over and names the line.
    pytester.makeini(INI)
    pytester.makepyfile(test_threads=THREADED)
    result = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE, timeout=120)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_event_set_from_a_thread _*",
            f"test_threads.py:{line_of(THREADED, 'event.set()')}: `set_later` called into the event loop from "
            "thread `asyncio_0`; asyncio objects are not thread-safe (in debug mode asyncio raises in that "
            "thread and the task awaiting the result is never woken: the test can hang)",
            "    help: hand the call to the loop with `loop.call_soon_threadsafe(...)`",
        ]
    )


BROKEN_FINALIZER = """
class Leaky:
    def __del__(self):
        raise OSError("closed twice")


def test_leaves_a_broken_finalizer():
    cycle = Leaky()
    cycle.self = cycle
"""


def test_a_broken_finalizer_stays_a_warning_as_under_plain_pytest(pytester: pytest.Pytester) -> None:
    """A `__del__` that raises is no async misuse: the unraisable-exception warning it gives stays a warning
    (only one naming a `<coroutine object ...>` is an error), and none of our frames shows."""
    pytester.makeini(INI)
    pytester.makepyfile(test_leaky=BROKEN_FINALIZER)
    pytester.runpytest_subprocess("-p", NO_CACHE).assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE)
    result.assert_outcomes(passed=1, warnings=1)  # the plugin's `gc.collect()` runs the finalizer in the test
    result.stdout.fnmatch_lines(["*PytestUnraisableExceptionWarning: Exception ignored in: <function Leaky.__del__*"])
    assert not [line for line in result.stdout.lines if "pytest_plugin" in line or "awaitguard/" in line]


DOUBLES_APP = """
import asyncio


class Worker:
    def __init__(self, lock):
        self.lock = lock
        self.stop = asyncio.Event()

    async def run(self):
        self.lock.release()
        await asyncio.wait_for(self.stop.wait(), 0.5)
"""

DROPPED_BY_DOUBLES = """
import asyncio
from unittest import mock

import worker


async def test_asyncmock_over_sync_release():
    lock = mock.AsyncMock()
    lock.release = mock.AsyncMock()
    with mock.patch("asyncio.wait_for", new_callable=mock.AsyncMock):
        await worker.Worker(lock).run()


async def test_mocked_consumer_drops_the_argument():
    with mock.patch("asyncio.wait_for", new_callable=mock.AsyncMock) as wait_for:
        for _ in range(3):
            await worker.Worker(mock.Mock()).run()
    assert wait_for.await_count == 3


async def test_misspelt_assertion():
    notify = mock.AsyncMock()
    await notify("x")
    notify.asserT_awaited_once_with("x")


def test_ok_sync_double():
    lock = mock.Mock()
    lock.release()
"""


def test_coroutines_dropped_by_doubles_blame_the_double(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(worker=DOUBLES_APP, test_dropped=DROPPED_BY_DOUBLES)
    result = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE, "test_dropped.py")
    result.assert_outcomes(passed=2, failed=2)
    created = line_of(DROPPED_BY_DOUBLES, "await worker.Worker(lock).run()")
    result.stdout.fnmatch_lines(
        [
            "*_ test_asyncmock_over_sync_release _*",
            f"worker.py:{line_of(DOUBLES_APP, 'self.lock.release()')}: AG201 `self.lock.release` (mock "
            "`mock.release`) is an `AsyncMock` called without `await`: its coroutine is never awaited; either "
            "the double replaces a sync callable, or this call misses an `await`",
            f"    test_dropped.py:{created}: note: called from here (in `test_asyncmock_over_sync_release`)",
            "    help: if what the double replaces is sync, use `Mock(...)` or patch with `autospec=True`; "
            "if it is async, `await` the call",
            "*_ test_misspelt_assertion _*",
            f"test_dropped.py:{line_of(DROPPED_BY_DOUBLES, 'asserT_awaited')}: AG201 "
            "`notify.asserT_awaited_once_with` (mock `mock.asserT_awaited_once_with`) is an attribute the "
            "mock auto-created (a misspelt `assert_awaited_once_with`?): calling it asserts nothing, it only "
            "returns a coroutine that is never awaited",
            "    help: spell the assertion `assert_awaited_once_with`",
        ]
    )
    output = "\n".join(result.stdout.lines)
    # the real coroutine handed to the mocked wait_for is the double's to drop: never "await wait(...)"
    assert "wait(...)" not in output and "_execute_mock_call" not in output
    # one creation site, once per test (the short summary repeats messages in full when `CI` is set: not counted)
    failures = output.split("short test summary info")[0]
    assert failures.count("AG201") == 2


ALIASED_APP = """
def load():
    return 1


class Client:
    pass
"""

ALIASED_SVC = """
from shop import Client as Session
from shop import load as get
"""

ALIASED_TEST = """
from unittest import mock


def test_alias_of_a_def():
    with mock.patch("svc.get", new_callable=mock.AsyncMock):
        pass


def test_alias_of_a_class():
    with mock.patch("svc.Session", new_callable=mock.AsyncMock):
        pass
"""


def test_a_double_over_an_alias_names_the_definition(pytester: pytest.Pytester) -> None:
    """The note names what the patched name holds, and its own qualified name when that differs."""
    pytester.makeini(INI)
    pytester.makepyfile(shop=ALIASED_APP, svc=ALIASED_SVC, test_alias=ALIASED_TEST)
    result = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE, "test_alias.py")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            f"test_alias.py:{line_of(ALIASED_TEST, 'svc.get')}: " + AG201.format(double="AsyncMock", target="svc.get"),
            "    shop.py:1: note: `load` (`shop.load`) is `def` here",
            f"test_alias.py:{line_of(ALIASED_TEST, 'svc.Session')}: "
            + AG201.format(double="AsyncMock", target="svc.Session"),
            "    shop.py:5: note: `Client` (`shop.Client`) is a class here",
        ]
    )


NO_SUCH_ASSERTION = """
from unittest import mock


async def test_no_such_assertion():
    notify = mock.AsyncMock()
    await notify("x")
    notify.asserT_sent_twice("x")
"""


def test_an_auto_created_assertion_with_no_real_one_to_mean(pytester: pytest.Pytester) -> None:
    """No assertion of that name in any case: the help cannot guess one, it says to call a real one."""
    pytester.makeini(INI)
    pytester.makepyfile(test_assert=NO_SUCH_ASSERTION)
    result = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE, "test_assert.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"test_assert.py:{line_of(NO_SUCH_ASSERTION, 'asserT_sent')}: AG201 `notify.asserT_sent_twice` (mock "
            "`mock.asserT_sent_twice`) is an attribute the mock auto-created: calling it asserts nothing, it only "
            "returns a coroutine that is never awaited",
            "    help: call a real assertion",
        ]
    )


SILENCED_APP = """
def charge():
    return 1


async def work():
    return 2
"""

SILENCED_TESTS = """
from unittest import mock

import app


def test_double_noqa():
    with mock.patch("app.charge", new_callable=mock.AsyncMock):  # noqa: AG201
        pass


def test_double_reported():
    with mock.patch("app.charge", new_callable=mock.AsyncMock):
        pass


def test_dropped_ignored():
    app.work()  # awaitguard: ignore[AG102]


def test_dropped_other_code_ignored():
    app.work()  # noqa: AG201


def test_mock_dropped_noqa():
    notify = mock.AsyncMock()
    notify("x")  # noqa: AG201
"""


def test_suppressions_and_code_filters_silence_smoke_failures(pytester: pytest.Pytester) -> None:
    """Comments and `[tool.awaitguard]` select/ignore/per-file-ignores work as in the scan."""
    pytester.makeini(INI)
    pytester.makepyfile(app=SILENCED_APP, test_silenced=SILENCED_TESTS)
    result = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE, "test_silenced.py")
    result.assert_outcomes(passed=3, failed=2)
    failed = {line.split(" ")[1] for line in result.stdout.lines if line.startswith("FAILED ")}
    assert failed == {"test_silenced.py::test_double_reported", "test_silenced.py::test_dropped_other_code_ignored"}
    pytester.makepyprojecttoml('[tool.awaitguard]\nignore = ["AG102"]\n')
    result = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE, "test_silenced.py")
    result.assert_outcomes(passed=4, failed=1)
    pytester.makepyprojecttoml('[tool.awaitguard.per-file-ignores]\n"test_*.py" = ["AG2"]\n')
    result = pytester.runpytest_subprocess("--awaitguard", "-p", NO_CACHE, "test_silenced.py")
    result.assert_outcomes(passed=4, failed=1)
    assert "test_dropped_other_code_ignored" in result.stdout.str()


UNITTEST_ASYNC = """\
import unittest


class Sync(unittest.TestCase):
    async def test_batch(self):
        self.assertEqual(1, 2)

    def test_plain(self):
        pass


class Fine(unittest.IsolatedAsyncioTestCase):
    async def test_batch(self):
        self.assertEqual(1, 1)
"""


def test_async_test_of_a_sync_testcase_fails_at_its_definition(project: pytest.Pytester) -> None:
    """unittest calls the method and drops its coroutine: the place is the test, the fix its base class
    (piccolo's `DBTestCase`); the `IsolatedAsyncioTestCase` twin passes."""
    project.makepyfile(test_ut=UNITTEST_ASYNC)
    result = project.runpytest_subprocess("--awaitguard", "-p", "no:cacheprovider", "test_ut.py")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ Sync.test_batch _*",
            f"test_ut.py:{line_of(UNITTEST_ASYNC, 'async def test_batch')}: AG102 `test_batch(...)` creates a "
            "coroutine that is never awaited: `unittest.TestCase` calls test methods without awaiting them; its body "
            "never runs (RuntimeWarning: coroutine 'Sync.test_batch' was never awaited)",
            "    help: derive `Sync` from `unittest.IsolatedAsyncioTestCase` (it awaits `async def` tests), or make "
            "`test_batch` a plain `def`",
        ]
    )


def test_a_distribution_not_installed_is_named_once_at_the_end(pytester: pytest.Pytester) -> None:
    """The remote form's environment has the project on PYTHONPATH, not installed: a package reading its
    own version at import fails collection, a test reading it fails; the run ends with one line saying
    why. Other failures, and a plain pytest run, get no such line."""
    pytester.makeini(INI)
    pkg = pytester.mkpydir("notinstalled")
    (pkg / "__init__.py").write_text(
        'import importlib.metadata\n\n__version__ = importlib.metadata.version("ag-demo-x")\n'
    )
    pytester.makepyfile(
        test_imports="import notinstalled\n\n\ndef test_never_runs():\n    pass\n",
        test_reads=(
            "import importlib.metadata\n\n\ndef test_version():\n"
            '    assert importlib.metadata.version("ag-demo-y")\n\n\n'
            "def test_other_failure():\n    assert False\n"
        ),
    )
    off = ("-p", "no:cacheprovider", "--continue-on-collection-errors")
    result = pytester.runpytest_subprocess("--awaitguard", *off)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["awaitguard: 2 failures are PackageNotFoundError: `ag-demo-x`, `ag-demo-y` is not installed where pytest*"]
    )
    assert result.stdout.str().count("awaitguard: 2 failures") == 1
    plain = pytester.runpytest_subprocess(*off)
    assert plain.ret == pytest.ExitCode.TESTS_FAILED
    plain.stdout.no_fnmatch_line("awaitguard:*PackageNotFoundError*")
    (pkg / "__init__.py").write_text("")
    pytester.makepyfile(test_reads="def test_other_failure():\n    assert False\n")
    others = pytester.runpytest_subprocess("--awaitguard", *off)
    others.assert_outcomes(passed=1, failed=1)
    others.stdout.no_fnmatch_line("awaitguard:*PackageNotFoundError*")
