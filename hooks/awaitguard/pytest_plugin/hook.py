"""awaitguard-smoke: run the tests a commit touches under the smoke plugin, in a pytest subprocess.

Selection: the test files among the changed files, the tests under a changed ``conftest.py``, and the
tests that import a changed module. A test file is one pytest collects from a folder: its name matches
the project's ``python_files`` (``testnames``). The changed files are the Python file names given
(pre-commit passes the staged files, or every file under ``--all-files``), else the staged change
(``--base REV``: the change since REV). ``--all`` runs the configured ``tests`` instead; test paths
among the arguments replace the selection: folders, node ids and, outside pre-commit and prek (which
set ``PRE_COMMIT``), a Python file under the test paths whatever its name, as pytest collects a file
it is given. The configured source roots (``src/`` by default) are put on ``PYTHONPATH``, so a project
that is not installed in the hook's environment imports. pytest runs in a session of its own: what it
leaves running when it ends (a test's child process holding the hook's output open) is stopped.
Exit codes: 0 clean (or nothing selected), 1 test failures, 2 usage, config, git or pytest internal
errors (one stderr line).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from awaitguard import config as ag_config
from awaitguard import gitscope
from awaitguard.index import Index
from awaitguard.layout import TEST_FOLDERS, default_roots
from awaitguard.model import ModuleFacts
from awaitguard.pytest_plugin import testnames
from awaitguard.pytest_plugin.testnames import PytestFiles
from awaitguard.report import counted
from awaitguard.rules import CODES
from awaitguard.tree import FsTree

PROG = "awaitguard smoke"  # as `awaitguard scan` and `awaitguard mypy`: `<program>: error: ...` on stderr


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the tests this commit touches with awaitguard's pytest plugin enabled.",
        epilog=(
            "Other arguments go to pytest unchanged; explicit test paths replace the selection: folders, node ids, "
            "and files under the test paths, whatever their name (under pre-commit or prek, file names are the "
            "commit's files, and a test file is one named as pytest's python_files says)."
        ),
    )
    parser.add_argument("--all", action="store_true", help="run every test under [tool.awaitguard.smoke] tests")
    parser.add_argument("--base", metavar="REV", help="select from the changes since REV instead of the index")
    return parser


def _imports(facts: ModuleFacts) -> set[str]:
    """Absolute modules a file imports (``from pkg import name`` also as ``pkg.name``), from its facts."""
    found = {imp.module for imp in facts.imports if imp.module}
    found.update(f"{imp.module}.{imp.attr}" for imp in facts.imports if imp.attr)
    return found


def _imports_any(imports: set[str], modules: set[str]) -> bool:
    return any(name == module or name.startswith(module + ".") for name in imports for module in modules)


def affected_modules(index: Index, changed: set[str], names: PytestFiles = testnames.PYTEST_DEFAULT) -> set[str]:
    """The changed modules plus every project module that imports one of them, transitively.

    Importers are found as the scanner finds callers: files holding the module's last name as a
    word (``Tree.grep``), then their facts (the same import resolution as ``awaitguard scan``).
    """
    affected, frontier = set(changed), set(changed)
    while frontier:
        needles = {module.rsplit(".", 1)[-1] for module in frontier}
        found: set[str] = set()
        for path in sorted(index.tree.grep(needles)):
            name, _ = index.module_of(path)
            if name in affected or names.matches(index.tree.root / path):
                continue
            facts = index.facts_for_path(path)
            if facts is not None and _imports_any(_imports(facts), frontier):
                found.add(name)
        affected |= found
        frontier = found
    return affected


def select(
    root: Path,
    changed: Sequence[Path],
    roots: Sequence[Path],
    src: Sequence[str],
    names: PytestFiles = testnames.PYTEST_DEFAULT,
) -> list[Path]:
    """Test files and folders to run for the changed files (absolute paths); ``names`` says which files are tests."""
    index = Index(FsTree(root), roots=tuple(dict.fromkeys((*src, ""))), workers=1)
    chosen: dict[Path, None] = {}
    modules: set[str] = set()
    for path in changed:
        inside = any(path == r or r in path.parents for r in roots)
        if inside and names.matches(path) and path.is_file():
            chosen[path] = None
        elif inside and path.name == "conftest.py" and path.parent.is_dir():
            chosen[path.parent] = None
        elif not names.matches(path) and path.suffix == ".py" and root in path.parents:
            modules.add(index.module_of(path.relative_to(root).as_posix())[0])
    if modules:
        modules = affected_modules(index, modules, names)
        for rel in index.tree.files():
            test = root / rel
            if test in chosen or not names.matches(test) or not any(r == test or r in test.parents for r in roots):
                continue
            facts = index.facts_for_path(rel)
            if facts is not None and _imports_any(_imports(facts), modules):
                chosen[test] = None
    return list(chosen)


def _changed_paths(root: Path, base: str | None, env: Mapping[str, str]) -> list[Path]:
    top = gitscope.repo_root(root)
    if top is None:
        raise gitscope.GitError(f"not a git repository: {root}; pass test paths or --all")
    scope = gitscope.default_scope(top, base, env)
    paths: list[Path] = []
    for change in scope.changes:
        paths.append(top / change.path)
        if change.old_path:
            paths.append(top / change.old_path)
    return paths


def _pytest_command(smoke: Mapping[str, Any], extra: Sequence[str], env: Mapping[str, str]) -> list[str]:
    command = [sys.executable, "-m", "pytest"]
    if env.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        command += ["-p", "awaitguard.pytest_plugin"]  # otherwise the pytest11 entry point loads it
    command.append("--awaitguard")
    if smoke.get("packages"):
        command.append("--awaitguard-packages=" + ",".join(smoke["packages"]))
    if smoke.get("loop"):
        command.append(f"--awaitguard-loop={smoke['loop']}")
    if smoke.get("markers"):
        command += ["-m", str(smoke["markers"])]
    return [*command, *extra]


def _explicit_paths(args: Sequence[str], root: Path) -> bool:
    return any(not arg.startswith("-") and (root / arg.split("::", 1)[0]).exists() for arg in args)


def named_tests(given: Sequence[Path], root: Path, roots: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The given files that are test paths (run as pytest runs a file it is given), and the others.

    A test path is a file under the test paths other than a ``conftest.py``: anywhere in them when they
    are folders of their own (``tests/``, or as configured), in a ``tests``/``test``/``testing`` folder
    when the test path is the project's top. A changed ``conftest.py`` selects its folder's tests instead.
    """
    named: list[Path] = []
    rest: list[Path] = []
    for path in given:
        under = [r for r in roots if r == path or r in path.parents]
        folders = path.relative_to(root).parts[:-1] if root in path.parents else ()
        tests = any(r != root for r in under) or any(part in TEST_FOLDERS for part in folders)
        (named if under and tests and path.name != "conftest.py" else rest).append(path)
    return named, rest


def _folder(rel: str) -> str:
    return "./" if rel == "." else rel if rel.endswith(".py") else rel + "/"


def split_files(args: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Python file names among the arguments (what pre-commit passes), and the other arguments.

    A file name is an existing ``.py``/``.pyi`` file; a node id (``tests/test_a.py::test_b``), a folder
    or an option's value is not, and goes to pytest as given.
    """
    files: list[Path] = []
    rest: list[str] = []
    for arg in args:
        path = Path(arg)  # relative to where the hook runs (pre-commit: the repository's top)
        if not arg.startswith("-") and path.suffix in (".py", ".pyi") and path.is_file():
            files.append(path.resolve())
        else:
            rest.append(arg)
    return files, rest


def _pythonpath(root: Path, src: Sequence[str], env: Mapping[str, str]) -> str:
    """``PYTHONPATH`` with the project's source roots first (the root itself is on ``sys.path`` already)."""
    entries = [str(root / entry) for entry in src if (root / entry).is_dir() and (root / entry) != root]
    if env.get("PYTHONPATH"):
        entries.append(env["PYTHONPATH"])
    return os.pathsep.join(entries)


def main(argv: Sequence[str] | None = None) -> int:
    options, pytest_args = _parser().parse_known_args(argv)
    if "--" in pytest_args:  # `awaitguard smoke --all -- -m "not network"`: what follows is pytest's
        pytest_args.remove("--")
    root = ag_config.find_root(Path.cwd())
    try:
        loaded = ag_config.load(root, codes=CODES)
    except ag_config.ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    smoke = loaded.smoke
    roots = [root / entry for entry in smoke.get("tests", [])] or [
        root / "tests" if (root / "tests").is_dir() else root
    ]
    missing = [str(path.relative_to(root)) for path in roots if not path.exists()]
    if missing:
        print(f"{PROG}: error: [tool.awaitguard.smoke] tests: no such path: {', '.join(missing)}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    tree = FsTree(root)
    src = list(loaded.src) or list(default_roots(tree.files(), tree.read))
    common = Path(os.path.commonpath(roots))
    names = testnames.find(common if common.is_dir() else common.parent, root)
    given, pytest_args = split_files(pytest_args)
    if not env.get("PRE_COMMIT"):  # typed by hand: a file under the test paths is a test path, as for pytest
        named, given = named_tests(given, root, roots)
        pytest_args += [os.path.relpath(path, root) for path in named]
    explicit = _explicit_paths(pytest_args, root)
    if options.all or (explicit and not given):
        selected = [] if explicit else [str(p.relative_to(root)) for p in roots]
        if options.all:  # the whole suite: a recorded production incident must be reached by a test
            pytest_args = ["--awaitguard-incidents", *pytest_args]
    else:
        if given:
            changed, what = given, f"the {counted(len(given), 'given Python file')}"
        else:
            try:
                changed = _changed_paths(root, options.base, env)
            except gitscope.GitError as exc:
                print(f"{PROG}: error: {exc}", file=sys.stderr)
                return 2
            what = f"the {counted(len(changed), 'changed Python file')}"
        chosen = select(root, changed, roots, src, names)
        if not chosen and not explicit:
            where = ", ".join(_folder(os.path.relpath(path, root)) for path in roots)
            print(
                f"{PROG}: no test touched by {what}; nothing to run (tests are the files under {where} "
                f"named {names.describe(root)}, that changed or import a changed module)"
            )
            return 0
        selected = [os.path.relpath(path, root) for path in chosen]
        if selected:
            print(f"{PROG}: running {counted(len(selected), 'test path')} touched by {what}")
    env["PYTHONASYNCIODEBUG"] = "1"
    pythonpath = _pythonpath(root, src, env)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = _pytest_command(smoke, [*pytest_args, *selected], env)
    try:
        returncode = _run_pytest(command, root, env)
    except OSError as exc:
        print(f"{PROG}: error: cannot run pytest: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if returncode == 5:  # pytest.ExitCode.NO_TESTS_COLLECTED
        print(f"{PROG}: no tests collected from the selection; nothing to run")
        return 0
    if returncode in (0, 1) or returncode > 128:  # > 128: stopped by a signal, and said so
        return returncode
    print(f"{PROG}: error: pytest stopped with exit code {returncode} (usage or internal error)", file=sys.stderr)
    return 2


STOP_GRACE = 5.0  # seconds pytest gets to end after the signal we pass on, before it is killed
LEFTOVER_GRACE = 2.0  # seconds what pytest left running gets to end after SIGTERM, before SIGKILL
KILL_GRACE = 2.0  # seconds the kernel gets to end what SIGKILL hit, before the hook says it stopped them


def _run_pytest(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int:
    """pytest's exit code. A SIGTERM (pre-commit or CI stopping the hook) or Ctrl-C stops pytest too,
    killing it if it does not end within ``STOP_GRACE``: no pytest outlives the hook.

    pytest runs in a session (and process group) of its own, so once it has ended, the processes its
    tests started and left running (a server's workers, a ``Popen`` never waited for) can be found and
    stopped: they hold the hook's stdout and stderr open, and pre-commit waits for those to close."""
    proc = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=sys.platform != "win32")

    def on_term(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        return proc.wait()
    except (_Stopped, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, _Stopped) else signal.SIGINT
        _stop(proc, signum)
        name = signal.Signals(signum).name
        print(f"{PROG}: error: stopped by {name}; pytest was stopped too", file=sys.stderr)
        return 128 + signum
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop_leftovers(proc.pid)


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(proc: subprocess.Popen[bytes], signum: int) -> None:
    if proc.poll() is None:
        proc.send_signal(signum)  # pytest has a session of its own: neither Ctrl-C nor SIGTERM reached it
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()  # a hung loop may ignore SIGINT and SIGTERM
        proc.wait()


def _stop_leftovers(group: int) -> None:
    """Stop the processes left in pytest's process group ``group`` once pytest has ended, and say so."""
    if sys.platform == "win32":  # pragma: no cover - no process groups to signal
        return
    left = _members(group)
    if not left:
        return
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + LEFTOVER_GRACE
    while _members(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = bool(_members(group))
    if killed:
        _signal_group(group, signal.SIGKILL)
        deadline = time.monotonic() + KILL_GRACE  # a killed process runs on until the kernel has ended it
        while _members(group) and time.monotonic() < deadline:
            time.sleep(0.01)
    more = f" and {len(left) - 5} more" if len(left) > 5 else ""
    shown = f" ({', '.join(left[:5])}{more})" if left[0] != "?" else ""
    how = "SIGTERM, then SIGKILL" if killed else "SIGTERM"
    print(
        f"{PROG}: pytest ended with processes its tests started still running{shown}; stopped them ({how}), "
        "so the hook does not wait for them",
        file=sys.stderr,
    )


def _signal_group(group: int, signum: int) -> None:
    if sys.platform != "win32":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signum)


def _members(group: int) -> list[str]:
    """The live processes of ``group`` as ``pid name``, from /proc (a zombie is not one: it holds nothing
    open); without /proc, ``["?"]`` while the group has any process."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():
        if sys.platform == "win32":  # pragma: no cover
            return []
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return ["?"]
    found: list[str] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        name, _, rest = stat.partition(" (")[2].rpartition(") ")
        fields = rest.split()
        if len(fields) > 2 and fields[2] == str(group) and fields[0] != "Z":
            found.append(f"{entry.name} {name}")
    return sorted(found, key=lambda item: int(item.split(" ", 1)[0]))


if __name__ == "__main__":
    raise SystemExit(main())
