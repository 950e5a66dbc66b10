"""Shared fixtures. ``git_repo``: a real git repository in ``tmp_path``, isolated from the user's config."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """The strict-AST safety net is on for the whole suite, the hooks it runs in subprocesses included: a
    statement type the facts walk has no handler for fails the test instead of yielding nothing."""
    os.environ["AWAITGUARD_STRICT_AST"] = "1"
    # scans the tests run (`--no-cache` ones too keep typeshed's and the shipped stubs' facts) write their
    # cache inside the repository, in pytest's own cache folder, never in the user's home; a test that
    # looks at the cache gives its own folder
    os.environ.setdefault("AWAITGUARD_CACHE_DIR", str(config.rootpath / ".pytest_cache" / "awaitguard"))
    # pytest run in subprocesses prints more when it thinks it is on CI (the short summary repeats each
    # failure's message in full): tests read those outputs, so they must read the same output everywhere
    for key in ("CI", "BUILD_NUMBER"):
        os.environ.pop(key, None)


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "awaitguard tests",
    "GIT_AUTHOR_EMAIL": "tests@awaitguard.invalid",
    "GIT_COMMITTER_NAME": "awaitguard tests",
    "GIT_COMMITTER_EMAIL": "tests@awaitguard.invalid",
}


class GitRepo:
    """A work tree plus helpers that run git in it (as pre-commit-hooks' ``testing/util.py`` does)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def init(cls, root: Path, branch: str = "main") -> GitRepo:
        root.mkdir(parents=True, exist_ok=True)
        repo = cls(root)
        repo.git("init", "-q")
        repo.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        return repo

    def sibling(self, name: str) -> GitRepo:
        """Another repository next to this one (a remote, a submodule source)."""
        return GitRepo.init(self.root.parent / name)

    def git(self, *args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=self.root, capture_output=True, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()}")
        return proc.stdout.decode("utf-8", "surrogateescape")

    def write(self, path: str, content: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8", newline="")
        else:
            target.write_bytes(content)
        return target

    def commit(self, message: str = "commit", *, add_all: bool = True) -> str:
        """Commit (``git add -A`` first unless ``add_all`` is false); returns the new HEAD sha."""
        if add_all:
            self.git("add", "-A")
        self.git("commit", "-q", "--no-gpg-sign", "--no-verify", "--allow-empty", "-m", message)
        return self.sha()

    def sha(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", "--verify", f"{rev}^{{commit}}").strip()


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """An empty repository on branch ``main`` at ``tmp_path / "repo"``; no HEAD yet."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("", encoding="utf-8")
    for key in list(os.environ):
        if key.startswith("GIT_"):  # e.g. GIT_INDEX_FILE when the suite runs inside a git hook
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    return GitRepo.init(tmp_path / "repo")
