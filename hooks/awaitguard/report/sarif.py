"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, VS Code SARIF viewer, ...).

One run. ``tool.driver.rules`` lists every registered code (sorted, so ``ruleIndex`` is stable
between runs), each with a ``helpUri`` and its markdown doc as ``help``. Columns are already 1-based
unicode code points, hence ``columnKind: unicodeCodePoints``. Files that could not be scanned are
``invocations[0].toolConfigurationNotifications`` (as bandit does) and make ``executionSuccessful``
false, as they make the cli exit 2. Notes about the run as a whole (no file) are
``toolExecutionNotifications`` of level ``note``. No timestamps or absolute paths: the same input
gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from awaitguard import __version__
from awaitguard.findings import Finding, Notice, Related, errors, notes
from awaitguard.report._common import fix, message
from awaitguard.rules import CODES, RuleMeta

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/awaitguard/awaitguard"
SRCROOT = "%SRCROOT%"


def help_uri(code: str) -> str:
    """Where a code is documented: its page, ``docs/rules/<CODE>.md`` (generated from the rule's ``doc``), as
    of this release's tag (the page on `main` may describe a rule that has changed since)."""
    return f"{INFORMATION_URI}/blob/v{__version__}/docs/rules/{code}.md"


def render(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    codes = sorted(CODES)
    index = {code: i for i, code in enumerate(codes)}
    failed, said = errors(notices), notes(notices)
    invocation: dict[str, Any] = {"executionSuccessful": not failed}
    if failed:
        invocation["toolConfigurationNotifications"] = [_notification(n) for n in failed]
    if said:
        invocation["toolExecutionNotifications"] = [{"level": "note", "message": {"text": n.message}} for n in said]
    run = {
        "tool": {
            "driver": {
                "name": "awaitguard",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(CODES[code]) for code in codes],
            }
        },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": [_result(finding, index) for finding in findings],
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


def _rule(meta: RuleMeta) -> dict[str, Any]:
    summary = first_paragraph(meta.doc)
    rule: dict[str, Any] = {
        "id": meta.code,
        "name": meta.slug,
        "shortDescription": {"text": short_description(summary)},
        "fullDescription": {"text": summary},
        "help": {"text": meta.doc, "markdown": meta.doc},
        "helpUri": help_uri(meta.code),
        "defaultConfiguration": {"level": "error"},
    }
    if meta.retired_by:
        rule["properties"] = {"retiredBy": meta.retired_by}
    return rule


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": "error",
        "message": {"text": message(finding)},
        "locations": [{"physicalLocation": _physical(finding.path, finding.line, finding.col)}],
    }
    if finding.related:
        result["relatedLocations"] = [_related(i, rel) for i, rel in enumerate(finding.related, 1)]
    result["properties"] = {"fix": fix(finding), "impact": finding.impact, "args": dict(finding.args)}
    return result


def _related(ident: int, rel: Related) -> dict[str, Any]:
    return {
        "id": ident,
        "physicalLocation": _physical(rel.path, rel.line, rel.col),
        "message": {"text": rel.note},
    }


def _notification(notice: Notice) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": notice.message},
        "locations": [{"physicalLocation": _physical(notice.path, notice.line, 0)}],
    }


def _physical(path: str, line: int, col: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": to_uri(path), "uriBaseId": SRCROOT}}
    if line > 0:
        region = {"startLine": line}
        if col > 0:
            region["startColumn"] = col
        physical["region"] = region
    return physical


def to_uri(path: str) -> str:
    """A relative URI reference: ``/``-separated, percent-encoded (spaces, commas, non-ASCII)."""
    return quote(path.replace("\\", "/"), safe="/")


_HEADING = re.compile(r"^\*\*[^*]+\*\*$")


def first_paragraph(doc: str) -> str:
    """The first paragraph of a rule doc that is not a ``**Heading**``, as one line."""
    for block in re.split(r"\n\s*\n", doc.strip()):
        text = " ".join(line.strip() for line in block.splitlines())
        if text and not _HEADING.match(text):
            return text
    return ""


_ASIDE = re.compile(r"\s+\((?:[^()]|\([^()]*\))*\)")  # " (...)", one level of nesting


def short_description(paragraph: str) -> str:
    """The first sentence up to the colon that starts its list of cases, without asides."""
    sentence = re.split(r"(?<=\.)\s+(?=[A-Z`])", paragraph, maxsplit=1)[0]
    return _ASIDE.sub("", sentence.split(": ", 1)[0]).rstrip(".")
