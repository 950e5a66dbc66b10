"""A smoke failure is a ``Finding``, rendered by ``awaitguard.report`` like the scanner's.

The message comes from the rule's template in ``awaitguard.rules.CODES``, so AG102/AG201/AG202 read
the same in ``awaitguard-scan`` and in a failed smoke test: ``path:line: CODE message``, indented
``note:`` lines, one ``help:`` line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from awaitguard import report
from awaitguard.findings import Finding, Related


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


__all__ = ["failure", "related", "split_location"]
