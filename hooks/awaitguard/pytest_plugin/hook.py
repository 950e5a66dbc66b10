"""awaitguard-smoke: run the tests a commit touches under the smoke plugin, in a pytest subprocess.

Selection: the test files among the changed files, the tests under a changed ``conftest.py``, and the
tests that import a changed module. The changed files are the Python file names given (pre-commit
passes the staged files, or every file under ``--all-files``), else the staged change (``--base REV``:
the change since REV). ``--all`` runs the configured ``tests`` instead; test folders and node ids
among the pytest arguments replace the selection. The configured source roots (``src/`` by default)
are put on ``PYTHONPATH``, so a project that is not installed in the hook's environment imports.
Exit codes: 0 clean (or nothing selected), 1 test failures, 2 usage, config, git or pytest internal
errors (one stderr line).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from awaitguard import config as ag_config
from awaitguard import gitscope
from awaitguard.index import Index
from awaitguard.layout import default_roots, is_test_file
from awaitguard.model import ModuleFacts
from awaitguard.report import counted
from awaitguard.rules import CODES
from awaitguard.tree import FsTree

PROG = "awaitguard smoke"  # as `awaitguard scan` and `awaitguard mypy`: `<program>: error: ...` on stderr


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the tests this commit touches with awaitguard's pytest plugin enabled.",
        epilog="Other arguments go to pytest unchanged; explicit test paths replace the selection.",
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


def affected_modules(index: Index, changed: set[str]) -> set[str]:
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
            if name in affected or is_test_file(path):
                continue
            facts = index.facts_for_path(path)
            if facts is not None and _imports_any(_imports(facts), frontier):
                found.add(name)
        affected |= found
        frontier = found
    return affected


def select(root: Path, changed: Sequence[Path], roots: Sequence[Path], src: Sequence[str]) -> list[Path]:
    """Test files and folders to run for the changed files (absolute paths)."""
    index = Index(FsTree(root), roots=tuple(dict.fromkeys((*src, ""))), workers=1)
    chosen: dict[Path, None] = {}
    modules: set[str] = set()
    for path in changed:
        inside = any(path == r or r in path.parents for r in roots)
        if inside and is_test_file(str(path)) and path.is_file():
            chosen[path] = None
        elif inside and path.name == "conftest.py" and path.parent.is_dir():
            chosen[path.parent] = None
        elif not is_test_file(str(path)) and path.suffix == ".py" and root in path.parents:
            modules.add(index.module_of(path.relative_to(root).as_posix())[0])
    if modules:
        modules = affected_modules(index, modules)
        for rel in index.tree.files():
            test = root / rel
            if test in chosen or not is_test_file(str(test)) or not any(r == test or r in test.parents for r in roots):
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
    given, pytest_args = split_files(pytest_args)
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
        chosen = select(root, changed, roots, src)
        if not chosen:
            print(f"{PROG}: no test touched by {what}; nothing to run")
            return 0
        selected = [os.path.relpath(path, root) for path in chosen]
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


def _run_pytest(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int:
    """pytest's exit code. A SIGTERM (pre-commit or CI stopping the hook) or Ctrl-C stops pytest too,
    killing it if it does not end within ``STOP_GRACE``: no pytest outlives the hook."""
    proc = subprocess.Popen(command, cwd=cwd, env=env)

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


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(proc: subprocess.Popen[bytes], signum: int) -> None:
    if proc.poll() is None:
        proc.send_signal(signum)  # Ctrl-C reached pytest already (one process group); SIGTERM did not
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()  # a hung loop may ignore SIGINT and SIGTERM
        proc.wait()


if __name__ == "__main__":
    raise SystemExit(main())
