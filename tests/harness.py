"""Fixture harness: `# expect: CODE` comments, read as tokenize COMMENT tokens (never eval).

A code may carry a part of the message (or of its help) it must report, in double quotes:
`# expect: AG101 "a plain value"` (`# expect: AG101 "...", AG102` for two codes on one line).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from awaitguard.rules import CODES

_ITEM = r'[A-Z0-9]+(?:\s+"[^"]*")?'
EXPECT = re.compile(rf"#\s*expect:\s*(?P<items>{_ITEM}(?:\s*,\s*{_ITEM})*)\s*$")
ITEM = re.compile(r'(?P<code>[A-Z0-9]+)(?:\s+"(?P<text>[^"]*)")?')

Expected = tuple[str, int, str]  # (relative path, line, code)
Worded = tuple[str, int, str, str]  # (relative path, line, code, a part of its message)


def _expect_items(path: Path, rel: str) -> list[tuple[int, str, str | None]]:
    """(line, code, message part or None) for each item of the file's `# expect:` comments."""
    out: list[tuple[int, str, str | None]] = []
    source = path.read_bytes()
    for tok in tokenize.tokenize(io.BytesIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        match = EXPECT.search(tok.string)
        if match is None:
            if "expect" in tok.string:
                raise AssertionError(f"{rel}:{tok.start[0]}: malformed expect comment {tok.string!r}")
            continue
        for item in ITEM.finditer(match.group("items")):
            code = item.group("code")
            if code not in CODES:
                raise AssertionError(f"{rel}:{tok.start[0]}: unknown code {code} in expect comment")
            out.append((tok.start[0], code, item.group("text")))
    return out


def expectations(path: Path, rel: str) -> set[Expected]:
    """{(relative path, line, code)} from the file's `# expect: AG101[, AG102]` comments."""
    return {(rel, line, code) for line, code, _ in _expect_items(path, rel)}


def worded_expectations(path: Path, rel: str) -> set[Worded]:
    """{(relative path, line, code, message part)} for the expected codes that carry a part of their message."""
    return {(rel, line, code, text) for line, code, text in _expect_items(path, rel) if text is not None}


def tree_expectations(root: Path) -> set[Expected]:
    out: set[Expected] = set()
    for path in sorted(root.rglob("*.py")):
        out |= expectations(path, path.relative_to(root).as_posix())
    return out


def tree_worded_expectations(root: Path) -> set[Worded]:
    out: set[Worded] = set()
    for path in sorted(root.rglob("*.py")):
        out |= worded_expectations(path, path.relative_to(root).as_posix())
    return out


def unworded(expected: set[Worded], found: set[Worded]) -> list[Worded]:
    """The expected message parts that no finding at their (path, line, code) holds; ``found`` holds the
    findings' whole messages."""
    return sorted(
        (rel, line, code, text)
        for rel, line, code, text in expected
        if not any(f[:3] == (rel, line, code) and text in f[3] for f in found)
    )
