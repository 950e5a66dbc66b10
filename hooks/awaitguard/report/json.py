"""The machine format. Its keys are a contract: add keys, never rename or remove one.

```
{"version": "<awaitguard.__version__>",
 "findings": [{"path", "line", "col", "code", "slug", "message", "fix", "impact",
               "args": {name: value}, "related": [{"path", "line", "col", "message"}]}],
 "errors": [{"path", "line", "message"}],
 "notices": [{"message"}]}
```
Paths are relative and ``/``-separated, lines and columns 1-based (columns in code points; an
error's ``line`` is 0 when no line applies). ``errors`` are files that could not be scanned;
``notices`` are notes about the run as a whole (no file, not an error). Findings keep the order they
were given in. Non-ASCII
text is written as ``\\u`` escapes, so the bytes do not depend on the console's encoding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from awaitguard import __version__
from awaitguard.findings import Finding, Notice, errors, notes
from awaitguard.report._common import fix, message, meta


def render(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    document = {
        "version": __version__,
        "findings": [finding_object(finding) for finding in findings],
        "errors": [{"path": n.path, "line": n.line, "message": n.message} for n in errors(notices)],
        "notices": [{"message": n.message} for n in notes(notices)],
    }
    return json.dumps(document, indent=2) + "\n"


def finding_object(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "line": finding.line,
        "col": finding.col,
        "code": finding.code,
        "slug": meta(finding).slug,
        "message": message(finding),
        "fix": fix(finding),
        "impact": finding.impact,
        "args": dict(finding.args),
        "related": [
            {"path": rel.path, "line": rel.line, "col": rel.col, "message": rel.note} for rel in finding.related
        ],
    }
