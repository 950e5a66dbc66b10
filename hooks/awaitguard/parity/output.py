"""Rendering parity findings in the formats the other commands use (text, json, github); nothing printed here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from awaitguard import __version__
from awaitguard.findings import Finding
from awaitguard.parity.codes import PARITY_CODES

FORMATS = ("text", "json", "github")


def location(path: str, line: int) -> str:
    return f"{path}:{line}" if line > 0 else path


def escape_data(text: str) -> str:
    """As GitHub's workflow commands expect (as ``report.github`` does; not imported: it loads every rule)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_properties(**props: str | int) -> str:
    return ",".join(
        f"{key}={escape_data(str(value)).replace(':', '%3A').replace(',', '%2C')}"
        for key, value in props.items()
        if not (isinstance(value, int) and value <= 0)
    )


def message(finding: Finding) -> str:
    return PARITY_CODES[finding.code].template.format_map(finding.kwargs)


def fix(finding: Finding) -> str:
    return PARITY_CODES[finding.code].fix.format_map(finding.kwargs)


def render(fmt: str, findings: Sequence[Finding]) -> str:
    if fmt == "json":
        document = {
            "version": __version__,
            "findings": [_object(f) for f in findings],
            "errors": [],
            "notices": [],
        }
        return json.dumps(document, indent=2) + "\n"
    lines: list[str] = []
    for finding in findings:
        if fmt == "github":
            props = command_properties(
                file=finding.path, line=finding.line, title=f"{finding.code} {PARITY_CODES[finding.code].slug}"
            )
            notes = "".join(f" ({location(r.path, r.line)}: {r.note})" for r in finding.related)
            lines.append(f"::error {props}::{escape_data(f'{message(finding)}{notes} — help: {fix(finding)}')}")
            continue
        lines.append(f"{location(finding.path, finding.line)}: {finding.code} {message(finding)}")
        lines.extend(f"    {location(r.path, r.line)}: note: {r.note}" for r in finding.related)
        lines.append(f"    help: {fix(finding)}")
    return "".join(f"{line}\n" for line in lines)


def _object(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "line": finding.line,
        "col": finding.col,
        "code": finding.code,
        "slug": PARITY_CODES[finding.code].slug,
        "message": message(finding),
        "fix": fix(finding),
        "impact": False,
        "args": dict(finding.args),
        "related": [{"path": r.path, "line": r.line, "col": r.col, "message": r.note} for r in finding.related],
    }
