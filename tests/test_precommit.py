"""Every hook as a user installs it: the README's snippets, verbatim, in consumer repositories.

The hook repository is a git copy of this checkout (its tracked and new files, symlinks kept as links),
committed and tagged ``v<version>`` as a release is. The consumer's ``.pre-commit-config.yaml`` is built
from the README's own YAML blocks, unchanged: its ``repo: https://github.com/awaitguard/awaitguard`` reaches
the copy through git's ``url.<base>.insteadOf`` (set with ``GIT_CONFIG_*`` variables, which pre-commit
passes on to git), so pre-commit and prek do what they do for every user: clone at the tag, then a
regular (non-editable) install into a fresh environment. ``PRE_COMMIT_HOME``/``PREK_HOME`` are shared by
the module, so each environment is built once.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from awaitguard import __version__
from conftest import GIT_IDENTITY

if TYPE_CHECKING:
    from conftest import GitRepo

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed")

PROJECT = Path(__file__).resolve().parent.parent
README = PROJECT / "README.md"
NEEDED = ("pyproject.toml", "README.md", "CHANGELOG.md", ".pre-commit-hooks.yaml", "hooks", "stubs")
URL = "https://github.com/awaitguard/awaitguard"
TAG = f"v{__version__}"
PREK = shutil.which("prek", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
TOOLS = ["pre-commit", pytest.param("prek", marks=pytest.mark.skipif(PREK is None, reason="prek is not installed"))]


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr.decode()}"
    return proc.stdout.decode()


# --- the README's snippets ------------------------------------------------------------------------


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def snippet(hook_id: str) -> str:
    """The README's one YAML block that installs ``hook_id``, as a whole ``.pre-commit-config.yaml``."""
    found = [b for b in readme_blocks("yaml") if f"id: {hook_id}\n" in b and f"repo: {URL}\n" in b]
    assert len(found) == 1, f"the README should show one snippet for {hook_id}, not {len(found)}"
    block = found[0]
    return block if re.search(r"^repos:", block, re.MULTILINE) else "repos:\n" + block


def smoke_install_command() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- smoke-install -->\n```sh\n(.*?)\n```", text, re.DOTALL)
    assert match is not None, "the README's smoke install command is marked <!-- smoke-install -->"
    return match.group(1)


def test_snippets_name_the_current_release() -> None:
    """One version: every ``rev:`` and install command in the README names ``v`` + ``awaitguard.__version__``."""
    text = README.read_text(encoding="utf-8")
    revs = re.findall(r"^\s*rev: (\S+)$", text, re.MULTILINE)
    assert revs and set(revs) == {TAG}
    assert smoke_install_command().endswith(f'@{TAG}"')
    assert f"## {__version__}" in (PROJECT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_smoke_snippet_keeps_the_hooks_own_dependencies() -> None:
    """A hook's ``additional_dependencies`` replace the manifest's: the README's list must repeat them."""
    manifest = (PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    hook = manifest[manifest.index("- id: awaitguard-smoke") :]
    listed = re.search(r"additional_dependencies: \[(.*)\]", hook)
    assert listed is not None
    own = re.findall(r'"([^"]+)"', listed.group(1))
    extra = re.search(r"^smoke = \[(.*)\]$", (PROJECT / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE)
    assert extra is not None and re.findall(r'"([^"]+)"', extra.group(1)) == own == ["pytest>=8", *own[1:]]
    # no pytest plugin of our choosing: pytest-asyncio warns at configure time in a suite that does not
    # set it up (anyio's, as httpx's), and that warning is an INTERNALERROR under `filterwarnings = error`
    assert not [dep for dep in own if dep.startswith("pytest-")]
    config = snippet("awaitguard-smoke")
    for dep in own:
        assert f'"{dep}"' in config


# --- the hook repository and the consumers -----------------------------------------------------------


class HookRepo:
    def __init__(self, path: Path, base: Path) -> None:
        self.path = path
        self.base = base
        self.env = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{path.as_uri()}.insteadOf",
            "GIT_CONFIG_VALUE_0": URL,
            "PRE_COMMIT_HOME": str(base / "pre-commit-home"),
            "PREK_HOME": str(base / "prek-home"),
        }


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookRepo]:
    """A git copy of the project's tracked and new (not ignored) files, tagged as this release."""
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
        target = repo / rel
        if "__pycache__" in source.parts or not (source.is_symlink() or source.is_file()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():  # as git ships it: hooks/awaitguard/stubs -> ../../stubs
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    _git(repo, "init", "-q", env=env)
    _git(repo, "add", "-A", env=env)
    _git(repo, "commit", "-q", "--no-gpg-sign", "--no-verify", "-m", "release", env=env)
    _git(repo, "tag", TAG, env=env)
    yield HookRepo(repo, base)


@pytest.fixture
def home(hook_repo: HookRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> HookRepo:
    for key, value in hook_repo.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWAITGUARD_CACHE_DIR", str(tmp_path / "awaitguard-cache"))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    for name in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "PRE_COMMIT_SOURCE", "PRE_COMMIT_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    return hook_repo


def tool_command(tool: str) -> list[str]:
    if tool == "prek":
        assert PREK is not None
        return [PREK]
    return [sys.executable, "-m", "pre_commit"]


def install(repo: GitRepo, tool: str, config: str) -> None:
    """``config`` as the consumer's ``.pre-commit-config.yaml``, committed, and the git hook installed."""
    repo.write(".pre-commit-config.yaml", config)
    repo.write("pyproject.toml", "[project]\nname = 'consumer'\n")
    proc = subprocess.run([*tool_command(tool), "install"], cwd=repo.root, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def commit(repo: GitRepo, message: str) -> subprocess.CompletedProcess[str]:
    """A real ``git commit``: the installed hook runs (and builds the hook's environment the first time)."""
    return subprocess.run(
        ["git", "commit", "--no-gpg-sign", "-m", message], cwd=repo.root, capture_output=True, text=True, check=False
    )


def blocked(proc: subprocess.CompletedProcess[str], *expected: str) -> str:
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    for text in expected:
        assert text in output, output
    assert "Traceback" not in output, output
    return output


def passed(proc: subprocess.CompletedProcess[str]) -> str:
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Passed" in output, output
    return output


# --- every hook, every tool, the README's snippet -------------------------------------------------------

BAD_AWAIT = "def get_manager() -> int:\n    return 1\n\n\nasync def handler() -> int:\n    return await get_manager()\n"
GOOD_AWAIT = BAD_AWAIT.replace("return await get_manager()", "return get_manager()")


@pytest.mark.parametrize("tool", TOOLS)
def test_scan_snippet_blocks_a_bad_commit_and_passes_a_clean_one(git_repo: GitRepo, home: HookRepo, tool: str) -> None:
    install(git_repo, tool, snippet("awaitguard-scan"))
    git_repo.write("app.py", BAD_AWAIT)
    git_repo.git("add", "-A")
    blocked(commit(git_repo, "bad"), "app.py:6:12: AG101 `await get_manager(...)`")
    assert git_repo.git("rev-list", "--all") == ""  # nothing was committed

    git_repo.write("app.py", GOOD_AWAIT)
    git_repo.git("add", "app.py")
    assert "awaitguard scan" in passed(commit(git_repo, "fixed"))


CHAT = "import socketio\n\n\nasync def send(sio: socketio.AsyncServer) -> None:\n    sio.emit('message', {})\n"


@pytest.mark.parametrize("tool", TOOLS)
def test_mypy_snippet_blocks_a_bad_commit_and_passes_a_clean_one(git_repo: GitRepo, home: HookRepo, tool: str) -> None:
    """A regular install: the stubs live in site-packages, where mypy refuses a search path."""
    install(git_repo, tool, snippet("awaitguard-mypy"))
    git_repo.write("app.py", BAD_AWAIT.replace("    return 1\n", "    x: str = 1\n    return 1\n"))
    git_repo.write("chat.py", CHAT)
    git_repo.git("add", "-A")
    output = blocked(commit(git_repo, "bad"), "app.py:7:12: AG101", "chat.py:5:5: AG102")
    assert "app.py:2:" not in output  # a plain type error is mypy's business, not awaitguard's
    assert "MYPYPATH" not in output

    git_repo.write("app.py", GOOD_AWAIT)
    git_repo.write("chat.py", CHAT.replace("    sio.emit", "    await sio.emit"))
    git_repo.git("add", "-A")
    assert "awaitguard mypy" in passed(commit(git_repo, "fixed"))


INCIDENT = {
    "shop/__init__.py": "",
    "shop/factory.py": "def get_manager():\n    return {'mode': 'prod'}\n",
    "shop/handlers.py": "from shop.factory import get_manager\n\n\nasync def handle():\n    return get_manager()\n",
    "tests/test_handlers.py": (
        "import asyncio\nfrom unittest import mock\n\nfrom shop import handlers\n\n\n"
        "def test_handle():\n"
        "    with mock.patch('shop.handlers.get_manager', new_callable=mock.AsyncMock):\n"
        "        asyncio.run(handlers.handle())\n"
    ),
}


def smoke_round(repo: GitRepo) -> None:
    """The incident's test blocks the commit; the honest test passes; a commit with no test to run passes."""
    for rel, text in INCIDENT.items():
        repo.write(rel, text)
    repo.git("add", "-A")
    blocked(commit(repo, "masked"), "AG201", "shop.handlers.get_manager")

    repo.write("tests/test_handlers.py", INCIDENT["tests/test_handlers.py"].replace("AsyncMock", "Mock"))
    repo.git("add", "-A")
    assert "running 1 test path touched by the" in passed(commit(repo, "honest"))

    repo.write("notes.py", "VALUE = 1\n")
    repo.git("add", "notes.py")
    assert "no test touched by the 1 given Python file; nothing to run" in passed(commit(repo, "unrelated"))


@pytest.mark.parametrize("tool", TOOLS)
def test_smoke_snippet_blocks_a_bad_commit_and_passes_a_clean_one(git_repo: GitRepo, home: HookRepo, tool: str) -> None:
    install(git_repo, tool, snippet("awaitguard-smoke"))
    smoke_round(git_repo)


@pytest.fixture(scope="module")
def user_env(hook_repo: HookRepo) -> Path:
    """A user's own environment with awaitguard installed by the README's command, verbatim."""
    folder = hook_repo.base / "user-venv"
    venv.create(folder, with_pip=True)
    bin_dir = folder / ("Scripts" if os.name == "nt" else "bin")
    env = {
        **os.environ,
        **hook_repo.env,
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    proc = subprocess.run(smoke_install_command(), shell=True, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return bin_dir


@pytest.mark.parametrize("tool", TOOLS)
def test_smoke_local_snippet_runs_from_the_users_environment(
    git_repo: GitRepo, home: HookRepo, user_env: Path, tool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", os.pathsep.join([str(user_env), os.environ.get("PATH", "")]))
    configs = [b for b in readme_blocks("yaml") if "repo: local" in b and "id: awaitguard-smoke" in b]
    assert len(configs) == 1
    install(git_repo, tool, "repos:\n" + configs[0])
    smoke_round(git_repo)


def test_smoke_with_its_own_dependencies_replaced_says_what_to_list(git_repo: GitRepo, home: HookRepo) -> None:
    """The mistake the README warns about: one line naming the packages to add, not a traceback."""
    config = snippet("awaitguard-smoke")
    config = re.sub(r"additional_dependencies: \[.*\]", "additional_dependencies: [six]", config)
    install(git_repo, "pre-commit", config)
    for rel, text in INCIDENT.items():
        git_repo.write(rel, text)
    git_repo.git("add", "-A")
    output = blocked(commit(git_repo, "no pytest"), "your additional_dependencies replace the hook's own")
    line = next(line for line in output.splitlines() if "additional_dependencies replace" in line)
    # the requirements as installed metadata spells them (specifiers sorted): "typeguard<5,>=4.4"
    assert re.findall(r'"(pytest|typeguard)[<>=]', line) == ["pytest", "typeguard"]


# --- the scan hook's git situations, through pre-commit ----------------------------------------------------

FACTORY_ASYNC = "class Manager:\n    pass\n\n\nasync def get_manager():\n    return Manager()\n"
CALLER = (
    "from app.ws.factory import get_manager\n"
    "\n"
    "\n"
    "async def {name}():\n"
    "    manager = await get_manager()\n"
    "    return manager\n"
)


@pytest.fixture
def consumer(git_repo: GitRepo, home: HookRepo) -> GitRepo:
    install(git_repo, "pre-commit", snippet("awaitguard-scan"))
    return git_repo


def test_commit_that_breaks_unchanged_callers_names_them(consumer: GitRepo) -> None:
    consumer.write("app/__init__.py", "")
    consumer.write("app/ws/__init__.py", "")
    consumer.write("app/ws/factory.py", FACTORY_ASYNC)
    consumer.write("app/api/__init__.py", "")
    consumer.write("app/api/chat.py", CALLER.format(name="send"))
    consumer.write("app/api/rooms.py", CALLER.format(name="join"))
    consumer.git("add", "-A")
    passed(commit(consumer, "async factory"))

    consumer.write("app/ws/factory.py", FACTORY_ASYNC.replace("async def", "def"))
    consumer.git("add", "app/ws/factory.py")
    output = blocked(
        commit(consumer, "make the factory sync"), "app/api/chat.py:5:15: AG101", "app/api/rooms.py:5:15: AG101"
    )
    assert "app/ws/factory.py:5:1: note:" in output and "was `async def` before this commit" in output


def test_run_all_files_scans_the_given_files_whole(consumer: GitRepo) -> None:
    """`pre-commit run --all-files` (as pre-commit.ci runs it) passes every file and stages nothing."""
    consumer.write("legacy.py", BAD_AWAIT)
    consumer.write("clean.py", "async def handler():\n    return 1\n")
    consumer.commit("legacy")
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "awaitguard-scan", "--all-files"],
        cwd=consumer.root,
        capture_output=True,
        text=True,
        check=False,
    )
    output = blocked(proc, "legacy.py:6:12: AG101")
    assert proc.returncode == 1, output
    assert "clean.py" not in output


def test_commit_that_only_deletes_a_module_is_blocked(consumer: GitRepo) -> None:
    """pre-commit passes no file names for a pure deletion: the hook must run anyway (always_run)."""
    consumer.write("app/__init__.py", "")
    consumer.write("app/factory.py", "def get_manager():\n    return 1\n")
    consumer.write(
        "app/routes.py", "from app.factory import get_manager\n\n\ndef handler():\n    return get_manager()\n"
    )
    consumer.git("add", "-A")
    passed(commit(consumer, "base"))
    consumer.git("rm", "-q", "app/factory.py")
    blocked(commit(consumer, "drop the factory"), "app/routes.py:1:1: AG105")


# --- awaitguard-parity ------------------------------------------------------------------------------------------

PARITY_CI = (
    "name: tests\non: push\njobs:\n  test:\n    strategy:\n      matrix:\n        python-version: [{versions}]\n"
    "    steps:\n      - uses: actions/setup-python@v5\n        with:\n"
    "          python-version: ${{{{ matrix.python-version }}}}\n      - run: pytest\n"
)


@pytest.mark.parametrize("tool", TOOLS)
def test_parity_snippet_blocks_an_untested_production_python(git_repo: GitRepo, home: HookRepo, tool: str) -> None:
    install(git_repo, tool, snippet("awaitguard-parity"))
    git_repo.write("Dockerfile", 'FROM python:3.12-slim\nCMD ["python", "-m", "app"]\n')
    git_repo.write(".github/workflows/tests.yml", PARITY_CI.format(versions='"3.10", "3.11"'))
    git_repo.git("add", "-A")
    output = blocked(commit(git_repo, "deploy on 3.12"), "Dockerfile:1: AG301 production runs Python 3.12")
    assert ".github/workflows/tests.yml:7: note: the tests run on Python 3.10, 3.11 here" in output

    git_repo.write(".github/workflows/tests.yml", PARITY_CI.format(versions='"3.11", "3.12"'))
    git_repo.git("add", "-A")
    assert "awaitguard parity" in passed(commit(git_repo, "test on 3.12"))


# --- a project's own policy (docs/policies.md), through pre-commit ------------------------------------------

POLICY = (
    "[project]\nname = 'consumer'\n\n"
    "[[tool.awaitguard.policy.real]]\n"
    'targets = ["app.websocket_core.*"]\n'
    'paths = ["tests/integration"]\n'
)
MOCKED_TEST = (
    "from unittest.mock import AsyncMock, patch\n\n\n"
    "def test_notify() -> None:\n"
    '    with patch("app.websocket_core.get_websocket_manager", new_callable=AsyncMock):\n'
    "        pass\n"
)


def test_real_policy_blocks_a_double_in_integration_tests_not_in_unit_tests(consumer: GitRepo) -> None:
    """The incident's first lesson: integration tests use the real WebSocket manager, every commit checked."""
    consumer.write("pyproject.toml", POLICY)
    consumer.write("app/__init__.py", "")
    consumer.write("app/websocket_core.py", "async def get_websocket_manager() -> object:\n    return object()\n")
    consumer.write("tests/integration/test_notify.py", "def test_notify() -> None:\n    pass\n")
    consumer.git("add", "-A")
    passed(commit(consumer, "start"))

    consumer.write("tests/unit/test_notify.py", MOCKED_TEST)
    consumer.git("add", "-A")
    passed(commit(consumer, "a double in a unit test"))

    consumer.write("tests/integration/test_notify.py", MOCKED_TEST)
    consumer.git("add", "-A")
    blocked(
        commit(consumer, "a double in an integration test"),
        "tests/integration/test_notify.py:5:10: AG203",
        "which `real` in pyproject.toml:5 keeps real in `tests/integration`",
    )
    assert consumer.git("rev-list", "--count", "HEAD").strip() == "2"
