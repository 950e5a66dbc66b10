"""The human format: ``path:line:col: CODE message``, indented ``note:`` lines, one ``help:`` line."""

from __future__ import annotations

from collections.abc import Sequence

from awaitguard.findings import Finding, Notice
from awaitguard.report._common import fix, location, message


def render(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    """Findings only: notices go to stderr, one ``notice_line`` each, in every format (``notice_lines``)."""
    lines: list[str] = []
    for finding in findings:
        where = location(finding.path, finding.line, finding.col)
        lines.append(f"{where}: {finding.code} {message(finding)}")
        lines.extend(f"    {location(rel.path, rel.line, rel.col)}: note: {rel.note}" for rel in finding.related)
        lines.append(f"    help: {fix(finding)}")
    return "".join(f"{line}\n" for line in lines)


def notice_line(notice: Notice, prog: str = "awaitguard") -> str:
    """``path:line: error: message`` (``path: error: message`` when no line applies), or for a note
    about the whole run ``prog: note: message``, as the command's other lines; no newline."""
    if notice.is_note:
        return f"{prog}: note: {notice.message}"
    return f"{location(notice.path, notice.line)}: error: {notice.message}"


def notice_lines(notices: Sequence[Notice], prog: str) -> str:
    """What a command writes to stderr whatever the format: one ``notice_line`` per notice."""
    return "".join(f"{notice_line(notice, prog)}\n" for notice in notices)
