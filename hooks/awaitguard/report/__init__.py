"""Reporters: findings and notices in, one string out. They never print; the cli does.

Every format has the signature ``(findings, notices) -> str``. Non-empty output ends with a newline,
so the cli writes it as is (``sys.stdout.write``), as UTF-8.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from awaitguard.findings import Finding, Notice
from awaitguard.report import text
from awaitguard.report._common import fix, message
from awaitguard.report.text import notice_line, notice_lines

Reporter = Callable[[Sequence[Finding], Sequence[Notice]], str]


# the machine formats are imported when chosen (with the `json` module they need): a run renders one
def _json(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    from awaitguard.report import json as json_format

    return json_format.render(findings, notices)


def _sarif(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    from awaitguard.report import sarif

    return sarif.render(findings, notices)


def _github(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    from awaitguard.report import github

    return github.render(findings, notices)


FORMATS: Mapping[str, Reporter] = MappingProxyType(
    {
        "text": text.render,
        "json": _json,
        "sarif": _sarif,
        "github": _github,
    }
)


def counted(number: int, noun: str) -> str:
    """``1 file``, ``2 files``, ``0 files``: a count in words that agree, for every hook's messages."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def render(fmt: str, findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    try:
        reporter = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r} (choose from {', '.join(FORMATS)})") from None
    return reporter(findings, notices)


__all__ = ["FORMATS", "Reporter", "counted", "fix", "message", "notice_line", "notice_lines", "render"]
