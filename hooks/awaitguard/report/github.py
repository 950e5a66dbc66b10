"""GitHub Actions workflow commands: one ``::error`` annotation per finding or unscanned file, one
``::notice::`` (no file) per note about the run.

An annotation carries one location, so related locations are appended to the message as
``(defined at path:line; see also path:line)``, or each as ``(path:line: note)`` for a rule whose
related locations are evidence rather than a definition (``RuleMeta.related``, the parity codes), and
the fix follows as `` — help: ...``. Values are
escaped as the Actions runner expects: ``%``, CR and LF in the message; also ``:`` and ``,`` in
properties (``file``, ``title``).
"""

from __future__ import annotations

from collections.abc import Sequence

from awaitguard.findings import Finding, Notice
from awaitguard.report._common import fix, location, message, meta


def render(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    lines = [annotation(finding) for finding in findings]
    lines.extend(notice_annotation(notice) for notice in notices)
    return "".join(f"{line}\n" for line in lines)


def annotation(finding: Finding) -> str:
    props = command_properties(
        file=finding.path,
        line=finding.line,
        col=finding.col,
        title=f"{finding.code} {meta(finding).slug}",
    )
    text = message(finding)
    if finding.related and meta(finding).related == "evidence":
        text += "".join(f" ({location(rel.path, rel.line)}: {rel.note})" for rel in finding.related)
    elif finding.related:
        places = [location(rel.path, rel.line) for rel in finding.related]
        text += f" (defined at {places[0]}"
        if len(places) > 1:
            text += f"; see also {', '.join(places[1:])}"
        text += ")"
    text += f" — help: {fix(finding)}"
    return f"::error {props}::{escape_data(text)}"


def notice_annotation(notice: Notice) -> str:
    if notice.is_note:
        return f"::notice::{escape_data(notice.message)}"
    return f"::error {command_properties(file=notice.path, line=notice.line)}::{escape_data(notice.message)}"


def command_properties(**props: str | int) -> str:
    """``key=value`` pairs joined by ``,``; numbers that are 0 (unknown) are left out."""
    return ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in props.items()
        if not (isinstance(value, int) and value <= 0)
    )


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
