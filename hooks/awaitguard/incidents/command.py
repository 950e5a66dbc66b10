"""``awaitguard ingest LOG...`` and ``awaitguard incidents {list,prune}``: parse, route, print."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from awaitguard import config as config_mod
from awaitguard import gitscope
from awaitguard.incidents import store
from awaitguard.incidents.ingest import Merger
from awaitguard.incidents.reader import ReadStats, read
from awaitguard.tree import FsTree

INGEST = "awaitguard ingest"
INCIDENTS = "awaitguard incidents"
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _error(message: str, prog: str) -> int:
    sys.stderr.write(f"{prog}: error: {message}\n")
    return EXIT_ERROR


class Project:
    """The repository's root, its config and the incidents file it names."""

    def __init__(self, root: Path, config: config_mod.Config) -> None:
        self.root = root
        self.config = config
        settings = config.incidents
        self.file = root / str(settings.get("file", store.DEFAULT_FILE))
        self.path_map: Mapping[str, str] = settings.get("path-map", {})

    @classmethod
    def find(cls, config_path: Path | None) -> Project:
        root, _repo = gitscope.project_root(Path.cwd())
        return cls(root, config_mod.load(root, config_path))

    def tree(self) -> FsTree:
        try:
            files = gitscope.list_files(self.root) if gitscope.git_available() else None
        except gitscope.GitError:
            files = None
        return FsTree(self.root, files=files)


def ingest_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=INGEST, description="Record the async failures production logs show, in the incidents file."
    )
    parser.add_argument("logs", nargs="+", metavar="LOG", help="log files; - reads standard input")
    parser.add_argument("--config", type=Path, default=None, help="pyproject.toml to read [tool.awaitguard] from")
    parser.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    try:
        opts = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_CLEAN if exc.code == 0 else EXIT_ERROR
    try:
        project = Project.find(opts.config)
        incidents = store.load(project.file)
    except (config_mod.ConfigError, store.StoreError) as exc:
        return _error(str(exc), INGEST)
    for log in opts.logs:
        if log != "-" and not Path(log).is_file():
            return _error(f"{log}: no such file", INGEST)
    merger = Merger(project.tree(), incidents, project.path_map)
    reading = ReadStats()
    for log in opts.logs:
        try:
            if log == "-":
                _ingest(sys.stdin.buffer, merger, reading)
            else:
                with open(log, "rb") as handle:
                    _ingest(handle, merger, reading)
        except OSError as exc:  # a read error mid-file: what was read before it is kept
            sys.stderr.write(f"{INGEST}: error: {log}: {exc.strerror or exc}; kept what was read before it\n")
    changed = False
    if not opts.dry_run:
        try:
            changed = store.save(project.file, merger.incidents.values())
        except OSError as exc:
            return _error(f"{project.file}: cannot write ({exc.strerror})", INGEST)
    sys.stderr.write(_summary(merger, reading, project, changed, opts.dry_run))
    return EXIT_CLEAN


def _ingest(stream: BinaryIO, merger: Merger, reading: ReadStats) -> None:
    merger.next_log()
    for event in read(stream, reading):
        merger.add(event)


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _summary(merger: Merger, reading: ReadStats, project: Project, changed: bool, dry_run: bool) -> str:
    stats = merger.stats
    lines = [
        f"{INGEST}: {_plural(reading.lines, 'line')} read, {_plural(stats.failures, 'async failure')} recognised, "
        f"{_plural(len(merger.incidents), 'incident')} recorded ({stats.new} new, {stats.updated_only} updated)"
    ]
    unmapped = sum(stats.unmapped.values())
    if unmapped:
        lines.append(f"{INGEST}: {_plural(unmapped, 'failure')} not mapped to the repository:")
        for reason, number in sorted(stats.unmapped.items()):
            samples = "; ".join(stats.samples.get(reason, []))
            lines.append(f"    {number} x {reason} (e.g. {samples})")
    damage = [
        (reading.malformed_json, "malformed JSON line"),
        (reading.huge_lines, "line too long to read"),
        (reading.binary_lines, "binary line"),
        (reading.truncated_tracebacks, "traceback cut before its exception"),
    ]
    skipped = ", ".join(_plural(n, what) for n, what in damage if n)
    if skipped:
        lines.append(f"{INGEST}: skipped {skipped}")
    if stats.other_errors:
        lines.append(f"{INGEST}: {_plural(stats.other_errors, 'other error')} (not async failures) ignored")
    where = (
        project.file.relative_to(project.root).as_posix() if project.file.is_relative_to(project.root) else project.file
    )
    if dry_run:
        lines.append(f"{INGEST}: dry run: {where} not written")
    else:
        lines.append(f"{INGEST}: {where} {'updated' if changed else 'unchanged'}")
    return "".join(line + "\n" for line in lines)


def incidents_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=INCIDENTS, description="List or prune the recorded incidents.")
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="each incident and whether it is still wrong")
    prune = sub.add_parser("prune", help="remove resolved incidents (or the ids given)")
    prune.add_argument("ids", nargs="*", help="remove these incidents, resolved or not")
    for each in (listing, prune):
        each.add_argument("--config", type=Path, default=None)
    try:
        opts = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_CLEAN if exc.code == 0 else EXIT_ERROR
    from awaitguard.incidents import recheck

    try:
        project = Project.find(opts.config)
        incidents = store.load(project.file)
    except (config_mod.ConfigError, store.StoreError) as exc:
        return _error(str(exc), INCIDENTS)
    if opts.action == "prune" and opts.ids:
        unknown = sorted(set(opts.ids) - {i.id for i in incidents})
        if unknown:
            return _error(f"no incident {', '.join(unknown)} in {project.file.name}", INCIDENTS)
        keep = [i for i in incidents if i.id not in opts.ids]
    else:
        from awaitguard.engine import release

        index = recheck.work_tree_index(project)
        try:
            states = recheck.states(project.root, project.config, incidents, index)
        finally:
            release(index)
        if opts.action == "list":
            for incident in sorted(incidents, key=store.sort_key):
                state = states[incident.id]
                sys.stdout.write(f"{incident.id} {state.word:10} {incident.path}:{incident.line} `{incident.callee}` "
                                 f"{incident.error} (seen {incident.seen()})\n")  # fmt: skip
            return EXIT_CLEAN
        keep = [i for i in incidents if not states[i.id].resolved]
    removed = len(incidents) - len(keep)
    if removed:
        store.save(project.file, keep)
    sys.stderr.write(f"{INCIDENTS}: removed {_plural(removed, 'incident')}, {len(keep)} left\n")
    return EXIT_CLEAN
