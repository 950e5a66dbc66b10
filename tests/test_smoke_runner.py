"""awaitguard-smoke's runner: selection from the staged change, exit codes, and the incident example."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from awaitguard.pytest_plugin import hook

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "a",
    "GIT_AUTHOR_EMAIL": "a@example.com",
    "GIT_COMMITTER_NAME": "a",
    "GIT_COMMITTER_EMAIL": "a@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def commit(root: Path) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-gpg-sign", "--no-verify", "-m", "x")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The incident example as a git repository with one commit, as the current directory."""
    root = tmp_path / "incident"
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
    shutil.copytree(EXAMPLES / "incident", root, ignore=ignore)
    git(root, "init", "-q")
    commit(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("PRE_COMMIT_FROM_REF", raising=False)
    monkeypatch.delenv("PRE_COMMIT_SOURCE", raising=False)
    return root


NAMING = "tests are the files under {where} named {names}, that changed or import a changed module"
DEFAULT_NAMES = "test_*.py or *_test.py, pytest's default python_files"


def test_nothing_selected_exits_0_and_says_what_a_test_is(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A "nothing to run" must not read as "the tests passed": the line says how tests were looked for."""
    (repo / "tools.py").write_text("def unused() -> int:\n    return 1\n")
    git(repo, "add", "tools.py")
    assert hook.main([]) == 0
    out, err = capfd.readouterr()
    naming = NAMING.format(where="tests/", names=DEFAULT_NAMES)
    assert out == f"{hook.PROG}: no test touched by the 1 changed Python file; nothing to run ({naming})\n"
    assert err == ""


def test_staged_module_selects_its_tests_and_fails_the_incident(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    factory = repo / "incident_app" / "factory.py"
    factory.write_text(factory.read_text() + "\n# touched\n")
    git(repo, "add", "incident_app/factory.py")
    assert hook.main(["-p", "no:cacheprovider"]) == 1
    out, _ = capfd.readouterr()
    assert out.startswith(f"{hook.PROG}: running 1 test path touched by the 1 changed Python file\n")
    assert (
        "tests/test_handlers.py:8: AG201 `AsyncMock` replaces sync `incident_app.handlers.get_manager`; "
        "the double's call returns an awaitable where the target's does not, so an `await` of it passes "
        "in the test and raises TypeError in production\n"
        "    incident_app/factory.py:6: note: "
        "`get_manager` (`incident_app.factory.get_manager`) is `def` here\n"
        "    help: patch with `autospec=True`, or use `Mock(return_value=...)`\n"
    ) in out


def test_given_files_are_the_change_as_pre_commit_passes_them(
    repo: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pre-commit run --all-files` passes every file and stages nothing: the files, not the index, decide."""
    monkeypatch.setenv("PRE_COMMIT", "1")  # as pre-commit and prek set it for their hooks
    (repo / "tools.py").write_text("def unused() -> int:\n    return 1\n")
    commit(repo)
    assert hook.main(["tools.py"]) == 0
    out, _ = capfd.readouterr()
    naming = NAMING.format(where="tests/", names=DEFAULT_NAMES)
    assert out == f"{hook.PROG}: no test touched by the 1 given Python file; nothing to run ({naming})\n"
    every = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py"))
    assert hook.main(["-p", "no:cacheprovider", *every]) == 1
    out, _ = capfd.readouterr()
    assert out.startswith(f"{hook.PROG}: running 1 test path touched by the {len(every)} given Python files\n")
    assert "AG201 `AsyncMock` replaces sync `incident_app.handlers.get_manager`" in out


def test_node_ids_and_folders_go_to_pytest_as_given(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (repo / "tests" / "test_ok.py").write_text("def test_ok() -> None:\n    pass\n")
    assert hook.main(["-p", "no:cacheprovider", "tests/test_ok.py::test_ok"]) == 0
    out, _ = capfd.readouterr()
    assert "1 passed" in out and "running" not in out


def test_src_layout_imports_without_an_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pre-commit cannot install the user's project into the hook's environment: src/ is put on the path."""
    (tmp_path / "src" / "lonely_pkg").mkdir(parents=True)
    (tmp_path / "src" / "lonely_pkg" / "__init__.py").write_text("def answer() -> int:\n    return 42\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_answer.py").write_text(
        "from lonely_pkg import answer\n\n\ndef test_answer() -> None:\n    assert answer() == 42\n"
    )
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert hook.main(["-q", "-p", "no:cacheprovider", "src/lonely_pkg/__init__.py"]) == 0


def test_fixed_example_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "incident_fixed"
    shutil.copytree(EXAMPLES / "incident_fixed", root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(root)
    assert hook.main(["--all", "-q", "-p", "no:cacheprovider"]) == 0


def test_incident_passes_under_plain_pytest(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    assert "1 passed" in proc.stdout


def test_config_error_exits_2_with_one_line(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "bogus = 1\n")
    assert hook.main([]) == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("awaitguard smoke: error: ") and "unknown key `bogus`" in err


def test_unknown_code_in_the_shared_table_exits_2(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """`[tool.awaitguard]` is read by all three hooks: a typo'd code is an error in each, not a silent skip."""
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.awaitguard]\nignore = ["AG999"]\n')
    assert hook.main([]) == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert err.startswith("awaitguard smoke: error: ") and "AG999" in err and err.count("\n") == 1


def test_not_a_git_repository_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert hook.main([]) == 2
    _, err = capfd.readouterr()
    assert err == f"awaitguard smoke: error: not a git repository: {tmp_path}; pass test paths or --all\n"


def test_pytest_usage_error_exits_2(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert hook.main(["--all", "--awaitguard-loop=no_such_loop:new"]) == 2
    _, err = capfd.readouterr()
    assert err.endswith("awaitguard smoke: error: pytest stopped with exit code 4 (usage or internal error)\n")


def test_pytest_args_after_a_double_dash(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (repo / "tests" / "test_ok.py").write_text(
        "import pytest\n\n\n@pytest.mark.slow\ndef test_ok() -> None:\n    pass\n"
    )
    assert hook.main(["--all", "--", "-p", "no:cacheprovider", "-m", "slow", "tests/test_ok.py"]) == 0
    out, _ = capfd.readouterr()
    assert "1 passed" in out


HANGS = """
import os
import signal
import time


def test_hangs() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as a loop stuck in select() may behave
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(os.environ["HANG_MARKER"], "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(600)
"""


def test_sigterm_stops_the_hook_and_its_pytest(tmp_path: Path) -> None:
    """pre-commit (or CI) stopping the hook must not leave a hung pytest behind."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_hang.py").write_text(HANGS)
    marker = tmp_path / "pytest.pid"
    env = {**os.environ, "HANG_MARKER": str(marker)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "awaitguard", "smoke", "--all", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline and proc.poll() is None, "pytest did not start its test"
        time.sleep(0.05)
    pytest_pid = int(marker.read_text())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=hook.STOP_GRACE + 30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.splitlines()[-1] == "awaitguard smoke: error: stopped by SIGTERM; pytest was stopped too"
    with pytest.raises(ProcessLookupError):
        os.kill(pytest_pid, 0)


def test_selection_follows_importers_transitively(tmp_path: Path) -> None:
    """A change to `app.core` selects the tests of `app.api` (which imports it relatively), not others."""
    files = {
        "src/app/__init__.py": "",
        "src/app/core.py": "def get_manager():\n    return 1\n",
        "src/app/api.py": "from .core import get_manager\n",
        "src/app/other.py": "VALUE = 1\n",
        "tests/test_api.py": "from app import api\n",
        "tests/test_api_attr.py": "from app.api import get_manager\n",
        "tests/test_core_module.py": "import app.core\n",
        "tests/test_other.py": "from app.other import VALUE  # mentions core only in a comment\n",
        "tests/test_unrelated.py": "import json\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    chosen = hook.select(tmp_path, [tmp_path / "src/app/core.py"], [tmp_path / "tests"], ["src"])
    names = sorted(p.relative_to(tmp_path).as_posix() for p in chosen)
    assert names == ["tests/test_api.py", "tests/test_api_attr.py", "tests/test_core_module.py"]


UNITTEST_SMOKE = """
import unittest


class SmokeTest(unittest.TestCase):
    def test_runs(self) -> None:
        self.assertEqual(1 + 1, 2)
"""


@pytest.fixture
def unnamed_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """aiosqlite's layout: unittest tests in `pkg/tests/smoke.py`, a name pytest does not collect from a folder."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "pkg" / "tests").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tests" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tests" / "smoke.py").write_text(UNITTEST_SMOKE)
    git(tmp_path, "init", "-q")
    commit(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    return tmp_path


def test_a_test_file_named_on_the_command_line_runs_whatever_its_name(
    unnamed_tests: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """`--help` says explicit test paths replace the selection: a file, as pytest collects a file it is given."""
    assert hook.main(["-p", "no:cacheprovider", "pkg/tests/smoke.py"]) == 0
    out, err = capfd.readouterr()
    assert "1 passed" in out, out + err
    assert "no test touched" not in out and "running" not in out
    smoke = unnamed_tests / "pkg" / "tests" / "smoke.py"
    smoke.write_text(UNITTEST_SMOKE.replace("1 + 1, 2", "1 + 1, 3"))
    assert hook.main(["-p", "no:cacheprovider", "pkg/tests/smoke.py"]) == 1  # it really ran


def test_under_pre_commit_a_given_file_is_the_change_and_the_line_says_why_nothing_ran(
    unnamed_tests: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT", "1")
    assert hook.main(["-p", "no:cacheprovider", "pkg/tests/smoke.py"]) == 0
    out, _ = capfd.readouterr()
    naming = NAMING.format(where="./", names=DEFAULT_NAMES)
    assert out == f"{hook.PROG}: no test touched by the 1 given Python file; nothing to run ({naming})\n"


def test_python_files_from_pytest_ini_selects_the_staged_test(
    unnamed_tests: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's own `python_files` says what a test file is, for the selection as for pytest."""
    monkeypatch.setenv("PRE_COMMIT", "1")
    (unnamed_tests / "pytest.ini").write_text("[pytest]\npython_files = smoke.py test_*.py\n")
    assert hook.main(["-p", "no:cacheprovider", "pkg/tests/smoke.py"]) == 0
    out, _ = capfd.readouterr()
    assert out.startswith(f"{hook.PROG}: running 1 test path touched by the 1 given Python file\n")
    assert "1 passed" in out
    assert hook.main(["-p", "no:cacheprovider", "pkg/__init__.py"]) == 0
    out, _ = capfd.readouterr()
    naming = NAMING.format(where="./", names="smoke.py or test_*.py, from python_files in pytest.ini")
    assert out == f"{hook.PROG}: no test touched by the 1 given Python file; nothing to run ({naming})\n"


def test_two_test_folders_take_python_files_from_their_common_folder(
    unnamed_tests: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `tests = ["pkg/tests", "more"]`, pytest reads the configuration above both, not inside the first."""
    monkeypatch.setenv("PRE_COMMIT", "1")
    (unnamed_tests / "pyproject.toml").write_text('[tool.awaitguard.smoke]\ntests = ["pkg/tests", "more"]\n')
    (unnamed_tests / "pkg" / "tests" / "pytest.ini").write_text("[pytest]\npython_files = check_*.py\n")
    (unnamed_tests / "more").mkdir()
    (unnamed_tests / "tox.ini").write_text("[pytest]\npython_files = smoke.py\n")
    assert hook.main(["-p", "no:cacheprovider", "pkg/__init__.py"]) == 0
    out, _ = capfd.readouterr()
    naming = NAMING.format(where="pkg/tests/, more/", names="smoke.py, from python_files in tox.ini")
    assert out == f"{hook.PROG}: no test touched by the 1 given Python file; nothing to run ({naming})\n"


def test_a_changed_helper_module_under_tests_selects_its_importers_not_itself(
    unnamed_tests: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A staged helper under the tests (which raises if pytest collects it) only selects the tests importing it."""
    tests = unnamed_tests / "tests"
    tests.mkdir()
    (tests / "helpers.py").write_text("raise RuntimeError('a helper is not collected by itself')\n")
    (tests / "test_uses.py").write_text("def test_uses() -> None:\n    pass\n")
    git(unnamed_tests, "add", "-A")
    assert hook.main(["-p", "no:cacheprovider"]) == 0  # the index: a changed test file and a helper
    out, _ = capfd.readouterr()
    assert out.startswith(f"{hook.PROG}: running 1 test path touched by the 2 changed Python files\n")
    assert "1 passed" in out


LINGERS = """
import os
import signal
import time


def test_leaves_children() -> None:
    # as a multiprocessing pool or a server's workers may: forked children, which hold every file the
    # process has open (pytest's own copy of its stdout and stderr among them), left running at the end
    for kind in ("polite", "stubborn"):
        if os.fork() == 0:
            try:
                if kind == "stubborn":
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                with open(os.path.join(os.environ["PID_DIR"], kind), "w") as handle:
                    handle.write(str(os.getpid()))
                time.sleep(120)
            finally:
                os._exit(0)
    while len(os.listdir(os.environ["PID_DIR"])) < 2:
        time.sleep(0.01)
"""


def test_processes_pytest_leaves_running_are_stopped_so_the_hook_returns(tmp_path: Path) -> None:
    """pre-commit reads the hook's output until every writer has closed it: leftovers used to hang the commit."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_lingers.py").write_text(LINGERS)
    pids = tmp_path / "pids"
    pids.mkdir()
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "smoke", "--all", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env={**os.environ, "PID_DIR": str(pids)},
        capture_output=True,  # pipes, as pre-commit and prek give a hook: EOF only once every child is gone
        text=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < 40
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    children = {kind: int((pids / kind).read_text()) for kind in ("polite", "stubborn")}
    line = proc.stderr.splitlines()[-1]
    assert line.startswith(f"{hook.PROG}: pytest ended with processes its tests started still running (")
    assert all(f"{pid} " in line for pid in children.values()), line
    assert line.endswith("; stopped them (SIGTERM, then SIGKILL), so the hook does not wait for them")
    for pid in children.values():
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(") ")[1][:1]


def test_a_clean_run_says_nothing_of_leftovers(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ok.py").write_text("def test_ok() -> None:\n    pass\n")
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "smoke", "--all", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout and "still running" not in proc.stderr
