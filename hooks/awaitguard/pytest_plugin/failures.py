"""A smoke failure is a ``Finding``, rendered by ``awaitguard.report`` like the scanner's.

The message comes from the rule's template in ``awaitguard.rules.CODES``, so AG102/AG201/AG202 read
the same in ``awaitguard-scan`` and in a failed smoke test: ``path:line: CODE message``, indented
``note:`` lines, one ``help:`` line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from awaitguard import report
from awaitguard.findings import CodeFilter, Finding, Related
from awaitguard.suppress import FileSuppressions


def split_location(where: str) -> tuple[str, int]:
    """``"app.py:12"`` -> ("app.py", 12); ("", 0) when there is no location."""
    path, _, line = where.rpartition(":")
    if not path or not line.isdigit():
        return "", 0
    return path, int(line)


def related(notes: Iterable[tuple[str, str]]) -> list[Related]:
    """``(where, note)`` pairs, with ``where`` as ``path:line``; pairs without a location are dropped."""
    out: list[Related] = []
    for where, note in notes:
        path, line = split_location(where)
        if path:
            out.append(Related(path, line, 0, note))
    return out


def failure(where: str, code: str, args: Mapping[str, str], notes: Iterable[tuple[str, str]] = ()) -> str:
    """The text a smoke check fails a test with."""
    path, line = split_location(where)
    finding = Finding.make(path, line, 0, code, args, related(notes))
    text = report.render("text", [finding]).rstrip("\n")
    # no location (no frame to point at): the line starts with the code, not with ": "
    return text if path else text.removeprefix(": ")


class Silencer:
    """Which smoke failures the project silenced, as the scan would: ``[tool.awaitguard]`` select/
    ignore/per-file-ignores, and a suppression comment on the line the failure points at."""

    def __init__(self, root: Path, config_root: Path, codes: CodeFilter) -> None:
        self.root = os.path.realpath(root)
        self.config_root = os.path.realpath(config_root)
        self.codes = codes
        self.comments = FileSuppressions()

    def silenced(self, where: str, code: str) -> bool:
        path, line = split_location(where)
        if not path:
            return not self.codes.keeps("", code)
        absolute = os.path.realpath(os.path.join(self.root, path))
        inside = absolute.startswith(self.config_root + os.sep)
        shown = os.path.relpath(absolute, self.config_root).replace(os.sep, "/") if inside else path
        if not self.codes.keeps(shown, code):
            return True
        return inside and self.comments.suppressed(absolute, line, code)  # never read outside the project


__all__ = ["Silencer", "failure", "related", "split_location"]
