"""The `awaitguard-scan` hook under real pre-commit, as a consumer repository installs it.

A git copy of this project (the files pip needs: pyproject.toml, README.md, .pre-commit-hooks.yaml, hooks/,
stubs/) is the hook repository; consumer repositories point at it by path and sha. ``PRE_COMMIT_HOME`` is
shared by the module, so pre-commit builds the hook's virtualenv once.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import GIT_IDENTITY

if TYPE_CHECKING:
    from conftest import GitRepo

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed")

PROJECT = Path(__file__).resolve().parent.parent
NEEDED = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "hooks", "stubs")
HOOK_ID = "awaitguard-scan"


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr.decode()}"
    return proc.stdout.decode()


class HookRepo:
    def __init__(self, path: Path, rev: str, home: Path) -> None:
        self.path = path
        self.rev = rev
        self.home = home  # PRE_COMMIT_HOME


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookRepo]:
    """A committed git copy of the project's tracked and new (not ignored) files that the hook needs."""
    base = tmp_path_factory.mktemp("precommit")
    gitconfig = base / "gitconfig"
    gitconfig.write_text("", encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        **GIT_IDENTITY,
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    listed = _git(PROJECT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *NEEDED, env=env)
    repo = base / "awaitguard-hooks"
    for rel in sorted(set(filter(None, listed.split("\0")))):
        source = PROJECT / rel
        if source.is_file() and "__pycache__" not in source.parts:
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / rel)
    _git(repo, "init", "-q", env=env)
    _git(repo, "add", "-A", env=env)
    _git(repo, "commit", "-q", "--no-gpg-sign", "--no-verify", "-m", "hooks", env=env)
    yield HookRepo(repo, _git(repo, "rev-parse", "HEAD", env=env).strip(), base / "pre-commit-home")


@pytest.fixture
def consumer(git_repo: GitRepo, hook_repo: HookRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> GitRepo:
    """``git_repo`` with a .pre-commit-config.yaml using the hook repository, and the hook installed."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(hook_repo.home))
    monkeypatch.setenv("AWAITGUARD_CACHE_DIR", str(tmp_path / "awaitguard-cache"))
    if sys.version_info < (3, 12):
        # virtualenv still seeds setuptools (>= 68, as pyproject asks) into 3.11- venvs: building the hook
        # there instead of in an isolated env that downloads setuptools again cuts the one-off install ~3x.
        monkeypatch.setenv("PIP_NO_BUILD_ISOLATION", "0")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    git_repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n- repo: {hook_repo.path}\n  rev: {hook_repo.rev}\n  hooks:\n  - id: {HOOK_ID}\n",
    )
    git_repo.write("pyproject.toml", "[project]\nname = 'consumer'\n")
    pre_commit(git_repo, "install")
    return git_repo


def pre_commit(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=repo.root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def commit(repo: GitRepo, message: str) -> subprocess.CompletedProcess[str]:
    """A real ``git commit``: the installed pre-commit hook runs."""
    return subprocess.run(
        ["git", "commit", "--no-gpg-sign", "-m", message], cwd=repo.root, capture_output=True, text=True, check=False
    )


def test_commit_with_await_of_a_plain_def_is_blocked_until_fixed(consumer: GitRepo) -> None:
    consumer.write(
        "app.py", "def get_manager():\n    return 1\n\n\nasync def handler():\n    return await get_manager()\n"
    )
    consumer.git("add", "-A")
    blocked = commit(consumer, "bad")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "app.py:6:12: AG101 `await get_manager(...)`" in output
    assert "Traceback" not in output
    assert consumer.git("rev-list", "--all") == ""  # nothing was committed

    consumer.write("app.py", "def get_manager():\n    return 1\n\n\nasync def handler():\n    return get_manager()\n")
    consumer.git("add", "app.py")
    passed = commit(consumer, "fixed")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "awaitguard scan" in passed.stderr and "Passed" in passed.stderr


FACTORY_ASYNC = "class Manager:\n    pass\n\n\nasync def get_manager():\n    return Manager()\n"
CALLER = (
    "from app.ws.factory import get_manager\n"
    "\n"
    "\n"
    "async def {name}():\n"
    "    manager = await get_manager()\n"
    "    return manager\n"
)


def test_commit_that_breaks_unchanged_callers_names_them(consumer: GitRepo) -> None:
    consumer.write("app/__init__.py", "")
    consumer.write("app/ws/__init__.py", "")
    consumer.write("app/ws/factory.py", FACTORY_ASYNC)
    consumer.write("app/api/__init__.py", "")
    consumer.write("app/api/chat.py", CALLER.format(name="send"))
    consumer.write("app/api/rooms.py", CALLER.format(name="join"))
    consumer.git("add", "-A")
    first = commit(consumer, "async factory")
    assert first.returncode == 0, first.stdout + first.stderr

    consumer.write("app/ws/factory.py", FACTORY_ASYNC.replace("async def", "def"))
    consumer.git("add", "app/ws/factory.py")
    blocked = commit(consumer, "make the factory sync")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "app/api/chat.py:5:15: AG101" in output
    assert "app/api/rooms.py:5:15: AG101" in output
    assert "app/ws/factory.py:5:1: note:" in output and "was `async def` before this commit" in output
    assert "Traceback" not in output


def test_run_all_files_scans_the_given_files_whole(consumer: GitRepo) -> None:
    """`pre-commit run --all-files` (as pre-commit.ci runs it) passes every file and stages nothing.

    Not `pre-commit try-repo`: it opens a fresh store in a temporary directory, so it would build the hook's
    virtualenv a second time (~25 s) to prove the same thing.
    """
    consumer.write(
        "legacy.py", "def get_manager():\n    return 1\n\n\nasync def handler():\n    return await get_manager()\n"
    )
    consumer.write("clean.py", "async def handler():\n    return 1\n")
    consumer.commit("legacy")
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", HOOK_ID, "--all-files"],
        cwd=consumer.root,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "legacy.py:6:12: AG101" in output
    assert "clean.py" not in output
    assert "Traceback" not in output


def use_hook(repo: GitRepo, hook_repo: HookRepo, hook_id: str) -> None:
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n- repo: {hook_repo.path}\n  rev: {hook_repo.rev}\n  hooks:\n  - id: {hook_id}\n",
    )


def run_hook(repo: GitRepo, hook_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", hook_id, "--all-files"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )


def test_mypy_hook_reports_only_the_async_finding(consumer: GitRepo, hook_repo: HookRepo) -> None:
    use_hook(consumer, hook_repo, "awaitguard-mypy")
    consumer.write(
        "app.py",
        "def get_manager() -> int:\n    return 1\n\n\nasync def handler() -> int:\n"
        "    x: str = 1\n    return await get_manager()\n",
    )
    consumer.git("add", "-A")
    proc = run_hook(consumer, "awaitguard-mypy")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "app.py:7:" in proc.stdout and "AG101" in proc.stdout
    assert "app.py:6:" not in proc.stdout  # a plain type error is mypy's business, not awaitguard's


def test_smoke_hook_fails_the_incident_test(consumer: GitRepo, hook_repo: HookRepo) -> None:
    use_hook(consumer, hook_repo, "awaitguard-smoke")
    consumer.write("shop/__init__.py", "")
    consumer.write("shop/factory.py", "def get_manager():\n    return {'mode': 'prod'}\n")
    consumer.write(
        "shop/handlers.py",
        "from shop.factory import get_manager\n\n\nasync def handle():\n    return await get_manager()\n",
    )
    consumer.write(
        "tests/test_handlers.py",
        "import asyncio\nfrom unittest import mock\n\nfrom shop import handlers\n\n\n"
        "def test_handle():\n"
        "    with mock.patch('shop.handlers.get_manager', new_callable=mock.AsyncMock):\n"
        "        asyncio.run(handlers.handle())\n",
    )
    consumer.git("add", "-A")
    proc = run_hook(consumer, "awaitguard-smoke")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "AG201" in proc.stdout and "shop.handlers.get_manager" in proc.stdout


def test_commit_that_only_deletes_a_module_is_blocked(consumer: GitRepo) -> None:
    """pre-commit passes no file names for a pure deletion: the hook must run anyway (always_run)."""
    consumer.write("app/__init__.py", "")
    consumer.write("app/factory.py", "def get_manager():\n    return 1\n")
    consumer.write(
        "app/routes.py", "from app.factory import get_manager\n\n\ndef handler():\n    return get_manager()\n"
    )
    consumer.git("add", "-A")
    assert commit(consumer, "base").returncode == 0
    consumer.git("rm", "-q", "app/factory.py")
    proc = commit(consumer, "drop the factory")
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "app/routes.py:1:1: AG105" in proc.stdout + proc.stderr
