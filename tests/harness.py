"""Fixture harness: `# expect: CODE` comments, read as tokenize COMMENT tokens (never eval)."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from awaitguard.rules import CODES

EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Z0-9,\s]+)$")


def expectations(path: Path, rel: str) -> set[tuple[str, int, str]]:
    """{(relative path, line, code)} from the file's `# expect: AG101[, AG102]` comments."""
    out: set[tuple[str, int, str]] = set()
    source = path.read_bytes()
    for tok in tokenize.tokenize(io.BytesIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        match = EXPECT.search(tok.string)
        if match is None:
            if "expect" in tok.string:
                raise AssertionError(f"{rel}:{tok.start[0]}: malformed expect comment {tok.string!r}")
            continue
        for code in (c.strip() for c in match.group("codes").split(",")):
            if code not in CODES:
                raise AssertionError(f"{rel}:{tok.start[0]}: unknown code {code} in expect comment")
            out.add((rel, tok.start[0], code))
    return out


def tree_expectations(root: Path) -> set[tuple[str, int, str]]:
    out: set[tuple[str, int, str]] = set()
    for path in sorted(root.rglob("*.py")):
        out |= expectations(path, path.relative_to(root).as_posix())
    return out
