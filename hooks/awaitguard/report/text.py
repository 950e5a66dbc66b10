"""The human format: ``path:line:col: CODE message``, indented ``note:`` lines, one ``help:`` line."""

from __future__ import annotations

from collections.abc import Sequence

from awaitguard.findings import Finding, Notice
from awaitguard.report._common import fix, location, message


def render(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    """Findings only: notices go to stderr, one ``notice_line`` each (the cli prints them)."""
    lines: list[str] = []
    for finding in findings:
        where = location(finding.path, finding.line, finding.col)
        lines.append(f"{where}: {finding.code} {message(finding)}")
        lines.extend(f"    {location(rel.path, rel.line, rel.col)}: note: {rel.note}" for rel in finding.related)
        lines.append(f"    help: {fix(finding)}")
    return "".join(f"{line}\n" for line in lines)


def notice_line(notice: Notice) -> str:
    """``path:line: error: message`` (``path: error: message`` when no line applies), no newline."""
    return f"{location(notice.path, notice.line)}: error: {notice.message}"
