"""`awaitguard scan|mypy|smoke`: parse arguments, route, print. No rule logic here."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from awaitguard import __version__

if TYPE_CHECKING:
    from awaitguard.config import Config
    from awaitguard.findings import Result

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


# Every one-line message starts with the program that says it: ``awaitguard scan: error: ...``,
# ``awaitguard mypy: note: ...``, as argparse's own usage errors do; ``awaitguard: error: ...`` only
# before a command runs (an unknown command, or one whose packages are missing).
SCAN = "awaitguard scan"


def _error(message: str, prog: str = "awaitguard") -> int:
    sys.stderr.write(f"{prog}: error: {message}\n")
    return EXIT_ERROR


def _codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it (``COLUMNS``, else standard output's
    terminal, else 80), without importing shutil, which imports bz2 and lzma."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, sized as argparse sizes it: argparse makes one for every ``add_argument`` and
    imports shutil (with bz2 and lzma: 3 ms of each scan's start) to size it, though only ``--help`` shows it."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("width", _columns() - 2)
        super().__init__(prog, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=SCAN,
        formatter_class=_Formatter,
        description="Find async/await misuse: by default in what the staged change touches and breaks.",
    )
    parser.add_argument("paths", nargs="*", help="files or folders (pre-commit passes the changed files)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--all", action="store_true", help="scan every Python file of the project")
    mode.add_argument("--base", metavar="REF", help="scope to the change between REF (merge-base) and HEAD")
    parser.add_argument("--format", choices=("text", "json", "sarif", "github"), default=None)
    parser.add_argument("--select", type=_codes, default=[], metavar="CODES", help="only these codes (prefixes)")
    parser.add_argument("--ignore", type=_codes, default=[], metavar="CODES", help="never these codes (prefixes)")
    parser.add_argument("--config", type=Path, default=None, help="pyproject.toml to read [tool.awaitguard] from")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="do not read or write the project's facts (typeshed's and the shipped stubs', keyed by content, are kept)",
    )
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (default: one per core)")
    parser.add_argument(
        "--stats",
        action="store_true",
        help="print to stderr the files in scope, those parsed (neither read from the cache nor skipped by their "
        "bytes) and the findings",
    )
    return parser


# The indexes of the last scan, freed by the process exit (``run``) rather than object by object:
# freeing the facts of a large tree one at a time takes seconds after the answer is known.
_KEPT: list[object] = []
_T = TypeVar("_T")


def _kept(index: _T) -> _T:
    _KEPT.append(index)
    return index


def _release() -> None:
    if _KEPT:
        from awaitguard.engine import release

        for index in _KEPT:
            release(index)  # type: ignore[arg-type]


def run() -> None:
    """The console script: ``main``, then exit at once, as mypy does (``mypy.util.hard_exit``)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _recorded_before(root: Path, config: Config, opts: argparse.Namespace, repo: Path | None) -> set[str] | None:
    """The incident ids committed before the change a scan checks (staged: ``HEAD``; ``--base REV``:
    REV), or None when every incident counts (``--all``, outside git)."""
    if opts.all or repo is None:
        return None
    from awaitguard import gitscope
    from awaitguard.incidents import incidents_file
    from awaitguard.incidents.store import StoreError, loads

    path = incidents_file(root, config)
    try:
        rel = path.relative_to(root).as_posix()
        blob = gitscope.file_at(root, opts.base or "HEAD", rel)
    except (ValueError, gitscope.GitError):
        return None
    if blob is None:
        return set()
    try:
        return {incident.id for incident in loads(blob.decode("utf-8", "replace"), path)}
    except StoreError:
        return set()  # the committed file was broken: what the work tree records is new


def main(argv: Sequence[str] | None = None) -> int:
    _KEPT.clear()  # in-process callers (tests) keep at most one scan's indexes
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(
            "usage: awaitguard {scan,mypy,smoke,parity,ingest,incidents,policy} ...\n\n"
            f"awaitguard {__version__}: stop async/await misuse.\n"
            "  scan       static scan (the awaitguard-scan hook)\n"
            "  mypy       mypy with awaitguard's plugin and stubs (the awaitguard-mypy hook)\n"
            "  smoke      pytest with production-like async guards (the awaitguard-smoke hook)\n"
            "  ingest     record the async failures of production logs (docs/incidents.md)\n"
            "  incidents  list or prune the recorded incidents\n"
            "  parity     where tests run async code differently from production (the awaitguard-parity hook)\n"
            "  policy     the project's [tool.awaitguard.policy]: --show, or --explain NAME\n"
        )
        return EXIT_CLEAN if args else EXIT_ERROR
    if args[0] == "--version":
        sys.stdout.write(f"awaitguard {__version__}\n")
        return EXIT_CLEAN
    command, rest = args[0], args[1:]
    if command == "scan":
        return scan_main(rest)
    if command == "mypy":
        try:
            from awaitguard.mypy_plugin.hook import main as mypy_main
        except ImportError as exc:
            from awaitguard.mypy_plugin import SUPPORTED

            return _error(
                f"needs mypy ({exc}): install `awaitguard[mypy]`, or under pre-commit list "
                f'"mypy{SUPPORTED}" first in the awaitguard-mypy hook\'s additional_dependencies '
                "(your list replaces the hook's own)",
                prog="awaitguard mypy",  # every line the mypy hook writes starts so (README)
            )
        return mypy_main(rest)
    if command == "smoke":
        try:
            from awaitguard.pytest_plugin.hook import main as smoke_main
        except ImportError as exc:
            return _error(_smoke_missing(exc), prog="awaitguard smoke")
        return smoke_main(rest)
    if command in ("ingest", "incidents"):
        from awaitguard.incidents import command as incidents_cli

        return (incidents_cli.ingest_main if command == "ingest" else incidents_cli.incidents_main)(rest)
    if command == "parity":
        from awaitguard.parity import main as parity_main

        return parity_main(rest)
    if command == "policy":  # [tool.awaitguard.policy] (docs/policies.md)
        from awaitguard.explain import main as policy_main

        return policy_main(rest)
    return _error(f"unknown command `{command}` (use scan, mypy, smoke, ingest, incidents, parity or policy)")


def _smoke_missing(exc: ImportError) -> str:
    """What to do when the smoke hook's own dependencies are missing, where the user runs it."""
    if not os.environ.get("PRE_COMMIT"):
        return f"needs pytest and typeguard ({exc}); install `awaitguard[smoke]`"
    from importlib.metadata import PackageNotFoundError, requires

    try:
        wanted = [r.split(";")[0].strip() for r in requires("awaitguard") or () if 'extra == "smoke"' in r]
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        wanted = []
    listed = ", ".join(f'"{r}"' for r in wanted) or '"pytest", "typeguard"'
    return (
        f"needs pytest and typeguard in the hook's environment ({exc}); "
        f"your additional_dependencies replace the hook's own, so add {listed} to them, "
        "or run it from your own environment (`repo: local`, `language: system`: see the README)"
    )


def scan_main(argv: Sequence[str]) -> int:
    # a scan builds many long-lived objects and frees few: collection passes are pure cost in a
    # short-lived process (they made the parent unpickling worker results several seconds slower,
    # and took a tenth of the imports below)
    gc.disable()
    parser = _parser()
    try:
        opts = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage line
        return EXIT_CLEAN if exc.code == 0 else EXIT_ERROR

    from awaitguard import config as config_mod
    from awaitguard import engine, gitscope
    from awaitguard.report import counted, notice_lines, render
    from awaitguard.rules import CODES

    cwd = Path.cwd()
    root, repo = gitscope.project_root(cwd)
    try:
        config = config_mod.load(root, opts.config, CODES)
    except config_mod.ConfigError as exc:
        return _error(str(exc), SCAN)
    for code in [*opts.select, *opts.ignore]:  # the config's codes were checked when it was read
        problem = config_mod.unknown_code(code, CODES)
        if problem is not None:
            return _error(problem, SCAN)
    fmt = opts.format or config.format
    if fmt not in ("text", "json", "sarif", "github"):
        return _error(f"unknown format `{fmt}` in {config.source} (use text, json, sarif or github)", SCAN)

    paths: list[str] = []
    for raw in opts.paths:
        path = Path(raw)
        full = (cwd / path).resolve() if not path.is_absolute() else path.resolve()
        try:
            rel = full.relative_to(root.resolve())
        except ValueError:
            return _error(f"{raw}: outside the project at {root}", SCAN)
        if not full.exists():
            return _error(f"{raw}: no such file or folder", SCAN)
        if full.is_dir():
            prefix = rel.as_posix()
            paths.extend(f"{prefix}/{p}" if prefix != "." else p for p in _walk(full))
        elif full.suffix in (".py", ".pyi"):
            paths.append(rel.as_posix())

    from awaitguard.libraries import LibraryError

    try:
        result = _run(opts, config, root, repo, paths)
    except (LibraryError, config_mod.ConfigError) as exc:  # ConfigError: a policy naming nothing
        result = str(exc)
    finally:
        _release()
    if isinstance(result, str):
        return _error(result, SCAN)
    from awaitguard.incidents import incidents_file

    merged, blocking, notes = result.findings, list[str](), list[str]()
    # recorded production incidents are in scope whatever the change (docs/incidents.md); without an
    # incidents file there are none, and the re-check's modules are not imported
    if incidents_file(root, config).is_file():
        from awaitguard.incidents.recheck import StoreError, for_scan

        try:
            recorded = _recorded_before(root, config, opts, repo)
            incidents = for_scan(root, config, _KEPT[0] if _KEPT else None, recorded)  # type: ignore[arg-type]
        except StoreError as exc:
            return _error(str(exc), SCAN)
        finally:
            _release()  # the re-check reopened the caches it read
        merged, blocking, notes = incidents.merge(result.findings), incidents.blocking, incidents.notes
    findings = engine.finish(merged, config, opts.select, opts.ignore)
    notices = result.said()
    out = render(fmt, findings, notices)
    if out:
        sys.stdout.buffer.write(out.encode("utf-8"))
        sys.stdout.flush()
    # in every format: the machine formats carry them in their document too
    sys.stderr.write(notice_lines(notices, SCAN))
    (sys.stdout if fmt == "text" else sys.stderr).write("".join(f"{line}\n" for line in blocking))
    sys.stderr.write("".join(f"{SCAN}: note: {line}\n" for line in notes))
    if opts.stats:
        in_scope, found = counted(result.files_total, "file"), counted(len(findings), "finding")
        sys.stderr.write(f"{SCAN}: {in_scope} in scope, {result.files_parsed} parsed, {found}\n")
    if any(not notice.is_note for notice in notices):
        return EXIT_ERROR
    return EXIT_FINDINGS if findings or blocking else EXIT_CLEAN


def _walk(folder: Path) -> list[str]:
    from awaitguard.tree import walk

    return walk(folder)


def _run(opts: argparse.Namespace, config: Config, root: Path, repo: Path | None, paths: list[str]) -> Result | str:
    """The scope decides the scan: --all, a git change, or the given files (imports are lazy: fast --help)."""
    from awaitguard import engine as eng
    from awaitguard import gitscope as git
    from awaitguard.tree import FsTree

    cache = not opts.no_cache
    if repo is None:  # (a work tree was found by running git: git is there)
        note = (
            "git not found: scanning the given files whole"
            if not git.git_available()
            else ("not a git repository: scanning the given files whole")
        )
        tree = FsTree(root, exclude=config.exclude, keep=True)
        index = _kept(eng.make_index(config, tree, cache, opts.jobs))
        if not opts.paths:
            result = eng.scan_tree(index, None, config.exclude, config.policy)
            if not opts.all:
                result.note = note
            return result
        result = eng.scan_tree(index, paths, config.exclude, config.policy)  # paths holding no Python file: nothing
        if not opts.all:
            result.note = note
        return result
    try:
        if opts.all:  # every file of the project, or every file under the given paths
            tree = FsTree(root, files=git.list_files(root), exclude=config.exclude, keep=True)
            index = _kept(eng.make_index(config, tree, cache, opts.jobs))
            return eng.scan_tree(index, paths or None, config.exclude, config.policy)
        scope = git.default_scope(root, opts.base, os.environ)
        if not scope.changes and not paths and not _whole_project_checks(root, scope.base, scope.target, config):
            # no Python file changed (a docs-only commit: the hook always runs): nothing to judge, so the
            # project is not indexed
            from awaitguard.findings import Result

            return Result(note=scope.note)
        if not scope.changes and paths:
            # e.g. `pre-commit run --all-files`: nothing staged, so the given files are scanned whole
            tree = FsTree(root, files=git.list_files(root), exclude=config.exclude, keep=True)
            index = _kept(eng.make_index(config, tree, cache, opts.jobs))
            return eng.scan_tree(index, paths, config.exclude, config.policy)
        new_tree = git.GitTree(root, scope.target)
        new_index = _kept(eng.make_index(config, new_tree, cache, opts.jobs))
        old_index = None
        if scope.base is not None:
            old_index = _kept(eng.make_index(config, git.GitTree(root, scope.base), cache, opts.jobs))
            old_index.share_facts(new_index)
        return eng.scan_change(scope, new_index, old_index, config.exclude, config.policy)
    except git.GitError as exc:
        return str(exc)


def _whole_project_checks(root: Path, base: str | None, target: str | None, config: Config) -> bool:
    """Whether a change with no Python file still judges the project: recorded incidents are re-checked
    whatever the commit touches (docs/incidents.md), and an edit of the policy's file holds every test
    already written to it (``policy.scan``)."""
    from awaitguard.gitscope import changed
    from awaitguard.incidents import incidents_file

    if incidents_file(root, config).is_file():
        return True
    return config.policy is not None and changed(root, base, target, config.policy.source)


if __name__ == "__main__":
    run()
