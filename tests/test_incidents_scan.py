"""Incidents are always in scope: in a real git repository, ingest -> commit the incidents file -> an
unrelated commit is blocked while the bug is there -> the fix passes and says resolved -> prune."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from awaitguard.cli import main
from awaitguard.incidents import store
from conftest import GitRepo

FACTORY = """\
class Manager:
    pass


def get_manager():
    return Manager()
"""
HANDLER = """\
from app.factory import get_manager


async def handle(user):
    manager = await get_manager()
    return manager
"""
OTHER = """\
from app.factory import get_manager


async def broadcast(message):
    manager = await get_manager()
    return manager
"""
LOG = {
    "severity": "ERROR",
    "timestamp": "2026-12-03T14:15:16Z",
    "message": "Traceback (most recent call last):\n"
    '  File "/srv/chat/app/handler.py", line 5, in handle\n'
    "    manager = await get_manager()\n"
    "TypeError: object Manager can't be used in 'await' expression\n",
}


def scan(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.chdir(repo.root)
    code = main(["scan", "--no-cache"])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def chat(git_repo: GitRepo) -> GitRepo:
    git_repo.write("app/__init__.py", "")
    git_repo.write("app/factory.py", FACTORY)
    git_repo.write("app/handler.py", HANDLER)
    git_repo.write("app/other.py", OTHER)
    git_repo.write("app/util.py", "def slug(text):\n    return text.lower()\n")
    git_repo.commit("service")
    return git_repo


def record(chat: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """Ingest the production log (LOG) in ``chat``: the log's path, to ingest it again."""
    log = tmp_path / "prod.jsonl"
    log.write_text(json.dumps(LOG) + "\n", encoding="utf-8")
    monkeypatch.chdir(chat.root)
    assert main(["ingest", str(log)]) == 0
    capsys.readouterr()
    return log


def ingest_one(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], log: str
) -> store.Incident:
    """Ingest a plain-text production log in ``repo``: the one incident it records."""
    path = tmp_path / "prod.log"
    path.write_text(log, encoding="utf-8")
    monkeypatch.chdir(repo.root)
    assert main(["ingest", str(path)]) == 0
    capsys.readouterr()
    (incident,) = store.load(repo.root / store.DEFAULT_FILE)
    return incident


def resolved(incident: store.Incident, why: str) -> str:
    return (
        f"awaitguard scan: note: incident {incident.id} (app/handler.py:5 `get_manager`) is resolved "
        f"({why}); `awaitguard incidents prune` removes it\n"
    )


def prune_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["incidents", "prune"]) == 0
    assert capsys.readouterr().err == "awaitguard incidents: removed 1 incident, 0 left\n"


def test_ingest_commit_block_fix_prune(
    chat: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # an unrelated change passes while nothing is recorded: the bug is outside its scope
    chat.write("app/util.py", "def slug(text):\n    return text.strip().lower()\n")
    chat.git("add", "app/util.py")
    assert scan(chat, monkeypatch, capsys) == (0, "", "")

    record(chat, tmp_path, monkeypatch, capsys)
    (incident,) = store.load(chat.root / store.DEFAULT_FILE)
    assert (incident.path, incident.line, incident.function, incident.callee) == (
        "app/handler.py", 5, "handle", "get_manager"
    )  # fmt: skip
    chat.git("add", store.DEFAULT_FILE)
    # the commit that records the incident is not blocked by it: it is checked from the next commit on
    code, out, err = scan(chat, monkeypatch, capsys)
    assert (code, out) == (0, "")
    assert err == (
        f"awaitguard scan: note: incident {incident.id} (app/handler.py:5 `get_manager`) is recorded by this "
        "change: it is checked from the next commit on\n"
    )
    chat.commit("incidents: get_manager awaited in production", add_all=False)

    # a commit with no Python change is blocked too: the incident is in scope whatever the commit touches
    chat.write("README.md", "docs\n")
    chat.git("add", "README.md")
    code, out, _ = scan(chat, monkeypatch, capsys)
    assert code == 1 and out.startswith("app/handler.py:5:15: AG101 ")
    chat.git("rm", "-q", "--cached", "README.md")

    # the same unrelated change is now blocked: the incident's site, and the other call of its callee
    chat.git("add", "app/util.py")
    code, out, err = scan(chat, monkeypatch, capsys)
    assert code == 1 and err == ""
    located = [line.split(" ", 2)[:2] for line in out.splitlines() if not line.startswith(" ")]
    assert located == [["app/handler.py:5:15:", "AG101"], ["app/other.py:5:15:", "AG101"]]
    assert (
        f"    app/handler.py:5:15: note: incident {incident.id}: production raised TypeError: object Manager can't "
        "be used in 'await' expression (seen once, 2026-12-03T14:15:16Z) here"
    ) in out.splitlines()
    assert f"note: incident {incident.id}: production raised" in out.split("app/other.py:5:15:")[1]
    chat.commit("util: strip", add_all=False)

    # a moved line is followed (by callee and enclosing function)
    chat.write(
        "app/handler.py", HANDLER.replace("async def handle(user):\n", "async def handle(user):\n    user.seen()\n")
    )
    chat.git("add", "app/handler.py")
    code, out, _ = scan(chat, monkeypatch, capsys)
    assert code == 1 and f"app/handler.py:6:15: note: incident {incident.id}" in out

    # the fix passes and says the incident is resolved (the other caller is fixed too: same callee)
    chat.write("app/handler.py", HANDLER.replace("await get_manager()", "get_manager()"))
    chat.write("app/other.py", OTHER.replace("await get_manager()", "get_manager()"))
    chat.git("add", "app/handler.py", "app/other.py")
    code, out, err = scan(chat, monkeypatch, capsys)
    assert (code, out) == (0, "")
    assert err == resolved(incident, "no `await` of `get_manager` is left in `handle`")
    chat.commit("handler: get_manager is sync", add_all=False)

    prune_all(capsys)
    assert store.load(chat.root / store.DEFAULT_FILE) == []
    chat.commit("incidents: prune")
    assert scan(chat, monkeypatch, capsys) == (0, "", "")


NESTED = """\
import asyncio


async def refresh():
    return 1


def sync_refresh():
    return asyncio.run(refresh())


async def nightly():
    return sync_refresh()
"""
NESTED_LOG = (
    "2026-12-04T01:00:00Z worker Traceback (most recent call last):\n"
    '2026-12-04T01:00:00Z worker   File "/app/jobs.py", line 13, in nightly\n'
    "2026-12-04T01:00:00Z worker     return sync_refresh()\n"
    '2026-12-04T01:00:00Z worker   File "/app/jobs.py", line 9, in sync_refresh\n'
    "2026-12-04T01:00:00Z worker     return asyncio.run(refresh())\n"
    '2026-12-04T01:00:00Z worker   File "/usr/local/lib/python3.12/asyncio/runners.py", line 190, in run\n'
    "2026-12-04T01:00:00Z worker RuntimeError: asyncio.run() cannot be called from a running event loop\n"
)


def test_an_incident_no_rule_can_check_blocks_while_its_line_is_unchanged(
    git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("jobs.py", NESTED)
    git_repo.write("util.py", "X = 1\n")
    git_repo.commit("jobs")
    incident = ingest_one(git_repo, tmp_path, monkeypatch, capsys, NESTED_LOG)
    assert (incident.kind, incident.rule, incident.line, incident.callee) == ("nested-event-loop", "", 9, "asyncio.run")
    git_repo.commit("incidents")
    git_repo.write("util.py", "X = 2\n")
    git_repo.git("add", "util.py")
    code, out, _ = scan(git_repo, monkeypatch, capsys)
    assert code == 1
    assert out == (
        f"jobs.py:9: incident {incident.id}: `asyncio.run` failed here in production (RuntimeError: asyncio.run() "
        "cannot be called from a running event loop; seen once, 2026-12-04T01:00:00Z), and the line is unchanged\n"
        "    help: fix the line; if it was fixed elsewhere (the callee changed), "
        f"`awaitguard incidents prune {incident.id}`\n"
    )
    # fixed elsewhere (the caller no longer runs inside a loop): the user drops it by id
    assert main(["incidents", "prune", incident.id]) == 0
    assert main(["incidents", "prune", "ag-00000000"]) == 2
    assert capsys.readouterr().err.endswith("error: no incident ag-00000000 in incidents.toml\n")
    git_repo.git("add", store.DEFAULT_FILE)
    assert scan(git_repo, monkeypatch, capsys) == (0, "", "")


LAZY = """\
import asyncio


async def to_runnable(handler):
    async def run():
        return handler()

    return run


async def run_lazy(handler):
    func = to_runnable(handler)
    return await func()


if __name__ == "__main__":
    asyncio.run(run_lazy(print))
"""


def test_a_coroutine_bound_to_a_name_then_called_is_recorded_where_it_was_made(
    git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """bolt-python's lazy listener: `func = to_runnable_function(...)` (an `async def`), then `await func()`
    raises "'coroutine' object is not callable" at the call; the incident sits at the binding, where the
    scan's AG102 is, so the scan reports it with the incident until the binding awaits."""
    git_repo.write("lazy.py", LAZY)
    git_repo.commit("lazy")
    ran = subprocess.run([sys.executable, "lazy.py"], cwd=git_repo.root, capture_output=True, text=True, check=False)
    assert "TypeError: 'coroutine' object is not callable" in ran.stderr
    deployed = ran.stderr.replace(str(git_repo.root) + "/", "/app/")
    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-12-04T10:00:02Z web-1 ERROR {line}\n" for line in deployed.splitlines()))
    monkeypatch.chdir(git_repo.root)
    assert main(["ingest", str(log)]) == 0
    capsys.readouterr()
    (incident,) = store.load(git_repo.root / store.DEFAULT_FILE)
    assert (incident.kind, incident.rule, incident.line, incident.function, incident.callee, incident.source) == (
        "coroutine-used-as-value", "AG102", 12, "run_lazy", "to_runnable", "func = to_runnable(handler)"
    )  # fmt: skip
    git_repo.commit("incidents")
    code, out, err = main(["scan", "--all", "--no-cache"]), *capsys.readouterr()
    assert (code, err) == (1, "")
    assert out.startswith("lazy.py:12:12: AG102 `to_runnable(...)` creates a coroutine that is assigned to `func`")
    assert f"    lazy.py:12:12: note: incident {incident.id}: production raised TypeError: 'coroutine'" in out
    git_repo.write("lazy.py", LAZY.replace("func = to_runnable(handler)", "func = await to_runnable(handler)"))
    code, out, err = main(["scan", "--all", "--no-cache"]), *capsys.readouterr()
    assert (code, out) == (0, "")
    assert f"incident {incident.id} (lazy.py:12 `to_runnable`) is resolved" in err


def test_a_name_bound_more_than_once_is_not_guessed(
    git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Which binding made the coroutine is unknown when `func` is bound twice: the failure stays unmapped."""
    twice = LAZY.replace(
        "    func = to_runnable(handler)\n",
        "    func = to_runnable(handler)\n    if handler is None:\n        func = list\n",
    )
    git_repo.write("lazy.py", twice)
    git_repo.commit("lazy")
    ran = subprocess.run([sys.executable, "lazy.py"], cwd=git_repo.root, capture_output=True, text=True, check=False)
    assert "TypeError: 'coroutine' object is not callable" in ran.stderr
    log = tmp_path / "app.log"
    log.write_text(ran.stderr.replace(str(git_repo.root) + "/", "/app/"), encoding="utf-8")
    monkeypatch.chdir(git_repo.root)
    assert main(["ingest", str(log)]) == 0
    assert "1 x the line does not hold the failing construct (value)" in capsys.readouterr().err
    assert store.load(git_repo.root / store.DEFAULT_FILE) == []


def test_an_await_fixed_at_the_callee_is_resolved_and_pruned(
    chat: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fix of the incident's own shape: the callee became `async def` again, and the line did not change."""
    log = record(chat, tmp_path, monkeypatch, capsys)
    (incident,) = store.load(chat.root / store.DEFAULT_FILE)
    chat.commit("incidents: get_manager awaited in production")

    chat.write("app/factory.py", FACTORY.replace("def get_manager", "async def get_manager"))
    chat.git("add", "app/factory.py")
    code, out, err = scan(chat, monkeypatch, capsys)
    assert (code, out) == (0, "")
    assert err == resolved(incident, "every `get_manager` the project defines is an `async def` now")
    chat.commit("factory: get_manager is async again", add_all=False)
    prune_all(capsys)

    # a callee that is still a plain `def` somewhere keeps the incident (the scan cannot tell which one runs)
    assert main(["ingest", str(log)]) == 0
    capsys.readouterr()
    chat.write("app/legacy.py", "def get_manager():\n    return None\n")
    chat.commit("incidents again, and a sync twin")
    chat.git("add", "app/util.py")
    code, out, err = scan(chat, monkeypatch, capsys)
    assert code == 1 and "and the line is unchanged" in out and err == ""


SPAWNER = """\
import asyncio

from app.factory import get_manager


async def warm_up():
    asyncio.create_task(get_manager())


async def warm_all():
    await asyncio.gather(get_manager())
"""


def test_a_value_handed_to_create_task_is_an_ag111_incident_until_the_callee_is_async(
    chat: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chat.write("app/spawn.py", SPAWNER)
    chat.commit("spawn")
    incident = ingest_one(
        chat,
        tmp_path,
        monkeypatch,
        capsys,
        "Traceback (most recent call last):\n"
        '  File "/srv/chat/app/spawn.py", line 7, in warm_up\n'
        "    asyncio.create_task(get_manager())\n"
        '  File "/usr/lib/python3.12/asyncio/tasks.py", line 420, in create_task\n'
        "    task = loop.create_task(coro, name=name, context=context)\n"
        "TypeError: a coroutine was expected, got <app.factory.Manager object at 0x7f00deadbeef>\n",
    )
    assert (incident.kind, incident.rule, incident.line, incident.function, incident.callee) == (
        "awaitable-expected", "AG111", 7, "warm_up", "get_manager"
    )  # fmt: skip
    chat.commit("incidents: create_task handed a Manager")

    chat.write("app/util.py", "def slug(text):\n    return text.strip()\n")
    chat.git("add", "app/util.py")
    code, out, err = scan(chat, monkeypatch, capsys)
    located = [line.split(" ", 2)[:2] for line in out.splitlines() if not line.startswith(" ")]
    assert (code, err) == (1, "")
    # the incident's site, the other hand-off of the same callee, and its awaits elsewhere (AG101, not noted)
    assert located[:2] == [["app/spawn.py:7:25:", "AG111"], ["app/spawn.py:11:26:", "AG111"]]
    assert f"    app/spawn.py:7:25: note: incident {incident.id}: production raised TypeError" in out
    assert f"incident {incident.id}: production raised" in out.split("app/spawn.py:11:26:")[1]

    chat.write("app/factory.py", FACTORY.replace("def get_manager", "async def get_manager"))
    chat.git("add", "app/factory.py")
    code, out, err = scan(chat, monkeypatch, capsys)
    assert (code, out) == (0, "")
    assert err == (
        f"awaitguard scan: note: incident {incident.id} (app/spawn.py:7 `get_manager`) is resolved "
        "(every `get_manager` the project defines is an `async def` now); `awaitguard incidents prune` removes it\n"
    )


UTIL = """\
import asyncio
from typing import Any, Coroutine


def create_task(coro: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
    loop = asyncio.get_running_loop()
    return loop.create_task(coro)
"""
JOBS = """\
from app.factory import get_manager
from app.util import create_task


async def warm_up():
    create_task(get_manager())
"""


def test_a_value_handed_through_the_projects_own_spawner_is_recorded_where_it_was_made(
    chat: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """aiokafka's `create_task(coro)` hands its parameter to `loop.create_task`: the innermost frame of the
    repository is the spawner's, but the value that failed was made by its caller, one frame out."""
    chat.write("app/util.py", UTIL)
    chat.write("app/jobs.py", JOBS)
    chat.commit("jobs")
    incident = ingest_one(
        chat,
        tmp_path,
        monkeypatch,
        capsys,
        "Traceback (most recent call last):\n"
        '  File "/srv/chat/app/jobs.py", line 6, in warm_up\n'
        "    create_task(get_manager())\n"
        '  File "/srv/chat/app/util.py", line 7, in create_task\n'
        "    return loop.create_task(coro)\n"
        '  File "/usr/lib/python3.12/asyncio/base_events.py", line 456, in create_task\n'
        "    task = tasks.Task(coro, loop=self, name=name, context=context)\n"
        "TypeError: a coroutine was expected, got <app.factory.Manager object at 0x7f00deadbeef>\n",
    )
    assert (incident.path, incident.line, incident.function, incident.callee) == (
        "app/jobs.py", 6, "warm_up", "get_manager"
    )  # fmt: skip
    chat.commit("incidents")
    chat.write("app/util.py", UTIL + "\n")
    chat.git("add", "app/util.py")
    code, out, _ = scan(chat, monkeypatch, capsys)
    assert code == 1 and out.startswith("app/jobs.py:6:17: AG111 ")
    assert f"    app/jobs.py:6:17: note: incident {incident.id}: production raised TypeError" in out
