"""[tool.awaitguard.policy]: validation (one error naming key and file), AG203 across the scan modes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import awaitguard
from awaitguard.cli import main
from conftest import GitRepo

APP = {
    "app/__init__.py": "",
    "app/ws.py": ("def get_manager() -> int:\n    return 1\n\n\nasync def get_manager_async() -> int:\n    return 1\n"),
    "tests/integration/test_ws.py": (
        "from unittest.mock import patch\n\n\ndef test_ws() -> None:\n"
        '    with patch("app.ws.get_manager", autospec=True):\n        pass\n'
    ),
}
REAL = '[[tool.awaitguard.policy.real]]\ntargets = ["app.ws.*"]\npaths = ["tests/integration"]\n'


def project(root: Path, pyproject: str, files: dict[str, str] | None = None) -> Path:
    for rel, text in {**APP, **(files or {}), "pyproject.toml": pyproject}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def scan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(["scan", "--no-cache", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines(), captured.err.splitlines()


@pytest.mark.parametrize(
    ("pyproject", "problem"),
    [
        ("[tool.awaitguard.policy]\nreel = []\n", "unknown key `reel` in [tool.awaitguard.policy] (known: real,"),
        ("[tool.awaitguard.policy]\nreal = 1\n", "[tool.awaitguard.policy] `real` must be a list of tables"),
        ('[[tool.awaitguard.policy.real]]\ntargets = ["app.ws.*"]\n', "`real` entry 1 needs a non-empty `paths`"),
        (REAL + 'tests = ["x"]\n', "`real` entry 1: unknown key `tests` (known: targets, paths)"),
        ('[tool.awaitguard.policy]\nsync = ["app ws"]\n', "`sync`: `app ws` is not a qualified name"),
        ('[tool.awaitguard.policy]\ntwins = { "app.ws.*" = "x" }\n', "`twins`: `app.ws.*` must be a name"),
        ('[tool.awaitguard.policy]\nsync = ["a.b"]\nasync = ["a.b"]\n', ":2: [tool.awaitguard.policy] `a.b` is"),
        ('[tool.awaitguard.policy]\nconventions = ["async"]\n', "`conventions` must be a list of async-name"),
        # checked against the project
        (REAL.replace("app.ws.*", "app.wss.*"), ":2: [tool.awaitguard.policy] `real` entry 1 `targets`: `app.wss.*`"),
        (REAL.replace('"tests/integration"', '"tests/e2e"'), "`paths`: `tests/e2e` matches no file"),
        ('[tool.awaitguard.policy]\nsync = ["app.ws.get_managr"]\n', "`app.ws.get_managr` names nothing in the"),
        (
            '[tool.awaitguard.policy]\nsync = ["app.ws.get_manager_async"]\n',
            "`app.ws.get_manager_async`: it is declared `sync`, but the source says `async def` at app/ws.py:5",
        ),
        (
            '[tool.awaitguard.policy]\ntwins = { "app.ws.get_manager_async" = "app.ws.get_manager" }\n',
            "`app.ws.get_manager_async`: `twins` pairs it as the sync twin, but the source says `async def`",
        ),
    ],
)
def test_a_bad_policy_is_one_error_naming_key_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pyproject: str, problem: str
) -> None:
    root = project(tmp_path, pyproject)
    monkeypatch.chdir(root)
    code, out, err = scan(capsys, "--all")
    assert (code, out, len(err)) == (2, [], 1), err
    assert err[0].startswith("awaitguard scan: error: ")
    assert "pyproject.toml" in err[0] and problem in err[0]


def test_real_policy_reports_the_double_and_names_the_policy_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project(tmp_path, "[tool.awaitguard]\n\n" + REAL))
    code, out, _ = scan(capsys, "--all")
    assert code == 1
    assert out[0].startswith("tests/integration/test_ws.py:5:10: AG203 ")
    assert "`app.ws.get_manager`, which `real` in pyproject.toml:4 keeps real in `tests/integration`" in out[0]


def test_a_commit_adding_a_double_is_blocked_and_one_outside_the_paths_is_not(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(git_repo.root)
    project(git_repo.root, REAL, {"tests/integration/test_ws.py": "", "tests/unit/test_ws.py": ""})
    git_repo.commit("start")
    double = APP["tests/integration/test_ws.py"]
    git_repo.write("tests/unit/test_ws.py", double)
    git_repo.git("add", "-A")
    assert scan(capsys, "--format", "json")[0] == 0
    git_repo.write("tests/integration/test_ws.py", double)
    git_repo.git("add", "-A")
    code, out, _ = scan(capsys, "--format", "json")
    found = [(f["path"], f["line"], f["code"]) for f in json.loads("\n".join(out))["findings"]]
    assert (code, found) == (1, [("tests/integration/test_ws.py", 5, "AG203")])


def test_policy_errors_reach_the_console_script(tmp_path: Path) -> None:
    root = project(tmp_path, REAL.replace("app.ws.*", "app.nothing"))
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "scan", "--all", "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "`app.nothing` names nothing in the project" in proc.stderr


TWINS = {
    "app/ws.py": APP["app/ws.py"]
    + "\n\ndef read() -> int:\n    return 1\n\n\nasync def aread() -> int:\n    return 1\n",
}
DECLARED = '[tool.awaitguard.policy]\nsync = ["app.ws.get_manager"]\nforbid-in-async = ["app.ws.read"]\n\n' + REAL


def policy(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(["policy", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines(), captured.err.splitlines()


def test_policy_show_lists_every_policy_and_the_twins_found_by_convention(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(git_repo.root)
    project(git_repo.root, DECLARED, TWINS)
    git_repo.git("add", "-A")
    assert policy(capsys, "--show") == (
        0,
        [
            "[tool.awaitguard.policy] in pyproject.toml",
            "real 1 (pyproject.toml:6): no test double over app.ws.* in tests/integration (AG203)",
            "sync (pyproject.toml:2): app.ws.get_manager",
            "forbid-in-async (pyproject.toml:3): app.ws.read",
            "twins by naming convention (`*_async`, `a*`): 2",
            "  app.ws.get_manager -> app.ws.get_manager_async (app/ws.py:5)",
            "  app.ws.read -> app.ws.aread (app/ws.py:13)",
        ],
        [],
    )


def test_policy_explain_says_where_what_why_and_which_policies(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(git_repo.root)
    project(git_repo.root, DECLARED, TWINS)
    git_repo.git("add", "-A")
    code, out, _ = policy(capsys, "--explain", "app.ws.get_manager")
    assert code == 0
    assert out[:3] == [
        "app.ws.get_manager",
        "  defined at app/ws.py:1 (def)",
        "  awaitability: not awaitable: a plain `def` in the source",
    ]
    assert out[3].startswith("  declared sync as `app.ws.get_manager` (pyproject.toml:2): a call the scanner cannot")
    assert out[4:] == [
        "  policies: real 1 (pyproject.toml:6): no test double over it in tests/integration",
        "            sync twin of app.ws.get_manager_async (by naming convention): async code calling it is AG108",
    ]
    code, out, _ = policy(capsys, "--explain", "app.ws.missing")
    assert (code, out[1]) == (0, "  not found: no module of the project or its libraries defines it")
    code, out, _ = policy(capsys, "--explain", "get_manager_async")  # a bare name: where the project defines it
    assert (code, out[1:3]) == (
        0,
        [
            "  not found as written: ask for a name in full (`package.module.Class.method`)",
            "  the project defines `app.ws.get_manager_async` (app/ws.py:5)",
        ],
    )


def test_policy_explain_says_a_name_defined_twice_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """taskiq's `TaskiqResult`, a class in each branch of `if IS_PYDANTIC2:`: not "not found", but why unknown."""
    body = "    class Result:\n        def get(self) -> int:\n            return 1\n\n"
    files = {"app/compat.py": f"import sys\n\nif sys.version_info >= (3, 11):\n{body}else:\n{body}"}
    monkeypatch.chdir(project(tmp_path, "", files))
    why = (
        "  `Result` is defined 2 times in app/compat.py (class at line 4, class at line 9): the scanner does not"
        " know which one a use gets, and says nothing about it (docs/limits.md)"
    )
    for name in ("app.compat.Result", "app.compat.Result.get"):
        assert policy(capsys, "--explain", name) == (
            0,
            [name, why, "  policies: none ([tool.awaitguard.policy] is not set)"],
            [],
        )


def test_policy_explain_says_a_method_replaced_from_outside_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """python-socketio replaces `basic_enter_room` and `wait` from its admin module (`manager.wait = ...` on a
    receiver the scanner cannot resolve): not "not found", and a def returning a call of one says which."""
    files = {
        "app/manager.py": (
            "class Manager:\n"
            "    def basic_enter(self, room):\n"
            "        return None\n\n"
            "    async def wait(self):\n"
            "        return None\n\n"
            "    def enter(self, room):\n"
            "        return self.basic_enter(room)\n"
        ),
        "app/admin.py": (
            "def instrument(server, hook):\n    server.manager.basic_enter = hook\n    server.manager.wait = hook\n"
        ),
    }
    monkeypatch.chdir(project(tmp_path, "", files))
    code, out, _ = policy(capsys, "--explain", "app.manager.Manager.wait")
    assert (code, out[0]) == (0, "app.manager.Manager.wait")
    assert out[1] == (
        "  defined at app/manager.py:5 (async def), but the project replaces `.wait` from outside its class, on"
        " objects that may be one (app/admin.py): the scanner does not know what a call of it runs, and says"
        " nothing about it (docs/how-it-decides.md)"
    )
    code, out, _ = policy(capsys, "--explain", "app.manager.Manager.enter")
    assert out[2] == (
        "  awaitability: unknown: a plain `def` in the source whose result the scanner cannot classify: it returns"
        " `self.basic_enter(...)`, and the project replaces `.basic_enter` from outside its class (app/admin.py)"
    )


def test_policy_command_errors_are_one_line(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(git_repo.root)
    project(git_repo.root, REAL.replace("app.ws.*", "app.gone.*"))
    code, out, err = policy(capsys, "--show")
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith("awaitguard policy: error: pyproject.toml:2: ") and "`app.gone.*`" in err[0]
    assert policy(capsys)[0] == 2


def test_findings_about_either_twin_name_the_other() -> None:
    """AG101 on an awaited sync twin names the async one; AG102 on a dropped async twin names the sync one."""
    root = Path(__file__).parent / "fixtures" / "scan" / "AG101_policy_twins"
    notes = {(f.code, r.path, r.line, r.note) for f in awaitguard.scan(root) for r in f.related}
    assert ("AG101", "app/ws.py", 8, "`get_manager_async` is its async twin: `await get_manager_async(...)`") in notes
    assert ("AG102", "app/ws.py", 4, "`get_manager` is its sync twin, for sync code: `get_manager(...)`") in notes


def test_an_overloaded_library_function_is_a_valid_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """typeshed's `subprocess.run` is `@overload`-ed: no single definition, yet it names something."""
    files = {"app/jobs.py": "import subprocess\n\n\nasync def job() -> None:\n    subprocess.run(['true'])\n"}
    monkeypatch.chdir(project(tmp_path, '[tool.awaitguard.policy]\nforbid-in-async = ["subprocess.run"]\n', files))
    code, out, err = scan(capsys, "--all")
    assert (code, err) == (1, [])
    assert out[0].startswith("app/jobs.py:5:5: AG109 `subprocess.run` must never be called from async code")


def test_a_def_declared_to_return_a_coroutine_is_a_valid_async_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Validation judges a twin as every call is judged, as `policy --explain` says it."""
    runner = (
        "from typing import Coroutine\n\n\nclass Runner:\n    def run(self):\n        return 1\n\n"
        "    def run_task(self) -> Coroutine[None, None, None]:\n        return self._serve()\n\n"
        "    async def _serve(self):\n        return None\n"
    )
    twins = '[tool.awaitguard.policy]\ntwins = { "app.runner.Runner.run" = "app.runner.Runner.run_task" }\n'
    monkeypatch.chdir(project(tmp_path, twins, {"app/runner.py": runner}))
    assert scan(capsys, "--all") == (0, [], [])
    flipped = twins.replace(
        '"app.runner.Runner.run" = "app.runner.Runner.run_task"',
        '"app.runner.Runner.run_task" = "app.runner.Runner.run"',
    )
    (tmp_path / "pyproject.toml").write_text(flipped, encoding="utf-8")
    code, _out, err = scan(capsys, "--all")
    assert code == 2 and "`app.runner.Runner.run_task`: `twins` pairs it as the sync twin" in err[0]
    assert "but the source says `def` returning an awaitable" in err[0]


def test_twins_match_the_sync_twin_itself_never_its_last_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """jupyter_server's `twins = { "jupyter_server.utils.fetch" = ... }` once declared every unresolved
    `.fetch()` sync: `await AsyncHTTPClient().fetch(url)` was AG101 + AG108, a local `fetch` AG101."""
    files = {
        "app/utils.py": (
            "from somewhere import client\n\n\ndef fetch(url):\n    return client.get(url)\n\n\n"
            "async def async_fetch(url):\n    return await client.aget(url)\n"
        ),
        "app/handlers.py": (
            "from somewhere import AsyncHTTPClient, jp_fetch\n\n"
            "from app import utils\nfrom app.utils import fetch as get\n\n\n"
            "async def tornado(url):\n    return await AsyncHTTPClient().fetch(url)\n\n\n"
            "async def local(url):\n    def fetch(u):\n        return jp_fetch(u)\n\n    return await fetch(url)\n\n\n"
            "async def injected(deps, url):\n    return deps.fetch(url)\n\n\n"
            "async def blocking(url):\n    return get(url), utils.fetch(url)\n"
        ),
    }
    pyproject = '[tool.awaitguard.policy]\ntwins = { "app.utils.fetch" = "app.utils.async_fetch" }\n'
    monkeypatch.chdir(project(tmp_path, pyproject, files))
    code, out, err = scan(capsys, "--all", "--format", "json")
    found = [(f["path"], f["line"], f["col"], f["code"]) for f in json.loads("\n".join(out))["findings"]]
    assert (code, err) == (1, [])
    assert found == [("app/handlers.py", 23, 12, "AG108"), ("app/handlers.py", 23, 22, "AG108")]
    code, out, _ = policy(capsys, "--explain", "app.utils.fetch")
    assert code == 0 and not any("declared" in line and "as `" in line for line in out), out
    assert out[-1] == "  policies: sync twin of app.utils.async_fetch (declared): async code calling it is AG108"


def test_twins_of_two_modules_name_the_async_twin_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`time.sleep` twinned with `asyncio.sleep`: the help once said `await time.sleep(...)`, a TypeError,
    and the message "`sleep` is the sync twin of `sleep`". Twins of one module keep the receiver."""
    files = {
        "app/handlers.py": (
            "import time\nfrom time import sleep\n\nfrom app import ws\n\n\n"
            "async def wait():\n    time.sleep(1)\n    sleep(2)\n    ws.get_manager()\n"
        ),
    }
    pyproject = '[tool.awaitguard.policy]\ntwins = { "time.sleep" = "asyncio.sleep" }\n'
    monkeypatch.chdir(project(tmp_path, pyproject, files))
    code, out, err = scan(capsys, "--all", "--select", "AG108")
    assert (code, err) == (1, [])
    by_time = "AG108 `time.sleep` is the sync twin of `asyncio.sleep`: in async code it blocks the event loop"
    assert out[:7] == [
        f"app/handlers.py:8:5: {by_time}",
        "    help: call `await asyncio.sleep(...)` instead",
        f"app/handlers.py:9:5: {by_time}",
        "    help: call `await asyncio.sleep(...)` instead",
        "app/handlers.py:10:5: AG108 `get_manager` is the sync twin of `get_manager_async`"
        " (`app.ws.get_manager_async`): in async code it blocks the event loop",
        "    app/ws.py:5:1: note: `get_manager_async` is `async def` here",
        "    help: call `await ws.get_manager_async(...)` instead",
    ]


def test_a_finding_a_declaration_caused_points_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """AG101 from `sync = [...]` and AG102 from `async = [...]` carry a note at the declaring line, as
    AG109 and AG203 do; the declared value has no definition, so no twin note is looked for."""
    for name in ("AG101_policy_declared", "AG102_policy_declared"):
        shutil.copytree(Path(__file__).parent / "fixtures" / "scan" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path / "AG101_policy_declared")
    code, out, err = scan(capsys, "--all")
    assert (code, err) == (1, [])
    assert out[:3] == [
        "app/handlers.py:6:15: AG101 `await container.get_websocket_manager(...)` awaits a plain value; at runtime"
        " this raises TypeError (\"can't be used in 'await' expression\")",
        "    pyproject.toml:2:1: note: `get_websocket_manager` is declared `sync` here"
        " (`app.ws.get_websocket_manager`)",
        "    help: remove `await`",
    ]
    monkeypatch.chdir(tmp_path / "AG102_policy_declared")
    code, out, err = scan(capsys, "--all")
    assert (code, err) == (1, [])
    assert out[1] == "    pyproject.toml:3:1: note: `fetch_updates` is declared `async` here (`app.ws.fetch_updates`)"


def test_explain_a_declared_global_names_its_class_and_awaitability(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """quart's `current_app: Quart = LocalProxy(...)` was "not found"; it is an instance of its declaration."""
    files = {
        "app/globals.py": (
            'from somewhere import LocalProxy\n\nfrom app.ws import Manager\n\nmanager: Manager = LocalProxy("m")\n'
        ),
        "app/ws.py": "class Manager:\n    def get(self):\n        return 1\n",
    }
    monkeypatch.chdir(project(tmp_path, "[project]\nname = 'demo'\n", files))
    code, out, _ = policy(capsys, "--explain", "app.globals.manager")
    assert (code, out[:3]) == (
        0,
        [
            "app.globals.manager",
            "  an instance of `Manager` (its class at app/ws.py:1)",
            "  awaitability: not awaitable: an instance of a class without `__await__`",
        ],
    )


def test_a_commit_editing_only_the_policy_holds_every_test_already_written_to_it(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(git_repo.root)
    project(git_repo.root, "[tool.awaitguard]\n")
    git_repo.commit("start: a double in tests/integration, no policy yet")
    git_repo.write("README.md", "docs\n")
    git_repo.git("add", "-A")
    assert scan(capsys)[:2] == (0, [])  # no Python file and not the policy: nothing to judge
    git_repo.write("pyproject.toml", "[tool.awaitguard]\n\n" + REAL)
    git_repo.git("add", "-A")
    code, out, _ = scan(capsys, "--format", "json")
    found = [(f["path"], f["line"], f["code"], f["impact"]) for f in json.loads("\n".join(out))["findings"]]
    assert (code, found) == (1, [("tests/integration/test_ws.py", 5, "AG203", True)])
