"""Findings: a code plus named arguments, rendered late by ``report``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from awaitguard.config import Config
from awaitguard.tree import excluded


class Related(NamedTuple):
    path: str
    line: int
    col: int
    note: str


class Finding(NamedTuple):
    path: str
    line: int
    col: int  # 1-based, unicode code points
    code: str
    args: tuple[tuple[str, str], ...] = ()
    related: tuple[Related, ...] = ()
    impact: bool = False  # reported because a changed definition elsewhere breaks this line

    @property
    def kwargs(self) -> dict[str, str]:
        return dict(self.args)

    @classmethod
    def make(
        cls,
        path: str,
        line: int,
        col: int,
        code: str,
        args: Mapping[str, str],
        related: Iterable[Related] = (),
        impact: bool = False,
    ) -> Finding:
        return cls(path, line, col, code, tuple(sorted(args.items())), tuple(related), impact)


def sort_key(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.path, finding.line, finding.col, finding.code)


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (path, line, col, code); an impact finding wins over a plain one."""
    best: dict[tuple[str, int, int, str], Finding] = {}
    for finding in findings:
        key = sort_key(finding)
        if key not in best or (finding.impact and not best[key].impact):
            best[key] = finding
    return sorted(best.values(), key=sort_key)


class CodeFilter(NamedTuple):
    """Which codes a hook reports, the same for the three hooks: ``select`` and ``ignore`` are code
    prefixes (the command line's replace the configuration's), ``per_file_ignores`` maps path globs
    (relative to the project's top) to code prefixes."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = {}  # (one shared default: a Mapping is never written)

    @classmethod
    def of(cls, config: Config, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> CodeFilter:
        return cls(tuple(select) or config.select, tuple(ignore) or config.ignore, config.per_file_ignores)

    def keeps(self, path: str, code: str) -> bool:
        if self.select and not code.startswith(self.select):
            return False
        if self.ignore and code.startswith(self.ignore):
            return False
        return not any(
            code.startswith(codes) and excluded(path, (glob,)) for glob, codes in self.per_file_ignores.items()
        )

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if self.keeps(f.path, f.code)]


class Notice(NamedTuple):
    """A file that could not be scanned (does not parse, not UTF-8, ...): an error, it makes the exit
    code 2; or, without a path, a note about the run as a whole (imports mypy could not resolve, a
    serial run): said in every format, never an error."""

    path: str  # "" for a note
    line: int  # 0 when no line applies
    message: str

    @classmethod
    def note(cls, message: str) -> Notice:
        return cls("", 0, message)

    @property
    def is_note(self) -> bool:
        return not self.path


def errors(notices: Iterable[Notice]) -> list[Notice]:
    """The notices that are errors (files that could not be scanned), in their order."""
    return [notice for notice in notices if not notice.is_note]


def notes(notices: Iterable[Notice]) -> list[Notice]:
    """The notes about the run as a whole, in their order."""
    return [notice for notice in notices if notice.is_note]


class Result:
    """What a scan found: its findings, the files it could not scan, how many it took and parsed."""

    __slots__ = ("files_parsed", "files_total", "findings", "note", "notices")

    # a plain class (a dataclass costs about 2 M instructions to create at each start: docs/speed.md)
    def __init__(
        self,
        findings: list[Finding] | None = None,
        notices: list[Notice] | None = None,
        files_total: int = 0,
        files_parsed: int = 0,
        note: str = "",
    ) -> None:
        self.findings = findings if findings is not None else []
        self.notices = notices if notices is not None else []
        self.files_total = files_total
        self.files_parsed = files_parsed
        self.note = note

    def said(self) -> list[Notice]:
        """Besides the findings: the files that could not be scanned (errors), then the note about the
        run as a whole, if any (``Notice.note``: not an error)."""
        return [*self.notices, *([Notice.note(self.note)] if self.note else [])]
