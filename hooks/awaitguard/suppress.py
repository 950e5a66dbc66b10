"""Suppression comments, read the same way by every hook.

``# awaitguard: ignore`` (every code), ``# awaitguard: ignore[AG101, AG102]``, ``# noqa`` (every code)
and ``# noqa: AG101`` silence findings on their line. A ``# noqa`` listing only other tools' codes
(``# noqa: E501``) silences nothing of ours. The scan reads a file's suppressions once, with its
facts; the mypy hook and the smoke run read the file of each finding they are about to report.
"""

from __future__ import annotations

import re
from pathlib import Path

# (line, codes): codes is "" for every code, else a comma-separated list such as "AG101,AG102"
Suppressions = tuple[tuple[int, str], ...]

_COMMENT = re.compile(rb"#[ \t]*(?:awaitguard:[ \t]*ignore(?:\[([A-Z0-9, \t]*)\])?|noqa(?::[ \t]*([A-Z0-9, \t]+))?)")


def suppressions(data: bytes) -> Suppressions:
    """Every suppression comment in a file's bytes, by line (a C-speed search for the two words first)."""
    if b"awaitguard" not in data and b"noqa" not in data:
        return ()
    out: list[tuple[int, str]] = []
    line, last = 1, 0  # counted on from the previous match: a file full of noqa comments is not quadratic
    for match in _COMMENT.finditer(data):
        line += data.count(b"\n", last, match.start())
        last = match.start()
        if match.group(0).lstrip(b"# \t").startswith(b"noqa"):
            codes = match.group(2)
            if codes is not None:
                names = [c for c in codes.decode().replace(" ", "").replace("\t", "").split(",") if c.startswith("AG")]
                if not names:
                    continue  # a noqa for other tools' codes
                out.append((line, ",".join(names)))
                continue
            out.append((line, ""))
        else:
            codes = match.group(1)
            out.append((line, codes.decode().replace(" ", "").replace("\t", "") if codes else ""))
    return tuple(out)


def suppressed(found: Suppressions, line: int, code: str) -> bool:
    """Whether a comment on ``line`` silences ``code``."""
    for number, codes in found:
        if number == line and (not codes or code in codes.split(",")):
            return True
    return False


class FileSuppressions:
    """Suppressions of the files a hook reports on, each file read once (unreadable: none)."""

    def __init__(self) -> None:
        self._by_path: dict[str, Suppressions] = {}

    def suppressed(self, path: str, line: int, code: str) -> bool:
        found = self._by_path.get(path)
        if found is None:
            try:
                data = Path(path).read_bytes()
            except (OSError, ValueError):
                data = b""
            found = self._by_path[path] = suppressions(data)
        return suppressed(found, line, code)


__all__ = ["FileSuppressions", "Suppressions", "suppressed", "suppressions"]
