"""A plugin finding as the hook reads it back: one mypy note that carries the finding as data.

mypy passes what a plugin reports on as text only (an error and its notes), also through its cache
and from its ``-n`` workers. So under ``awaitguard mypy`` the plugin is loaded through its
``data_plugin`` entry, and each finding's error gets one note: ``MARK`` and a JSON object holding
the finding's named arguments and its related locations. The hook reads the finding from that
note (``decode``), never from the rendered message. In a plain mypy run (``plugins =
awaitguard.mypy``) the plugin writes the human notes instead (``emit.py``). No mypy import here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MARK = "awaitguard-finding: "
_WHERE = re.compile(r"(?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?")


@dataclass(frozen=True)
class Carried:
    args: dict[str, str]
    related: tuple[tuple[str, int, str, int], ...]  # (path, line, note, 1-based column)
    col: int = 0  # the finding's 1-based code-point column as the scan counts it (0: mypy's own)


def split_where(where: str) -> tuple[str, int, int] | None:
    """``(path, line, col)`` of a note's ``"path:line"`` or ``"path:line:col"`` (col 1 when not given)."""
    found = _WHERE.fullmatch(where)
    if found is None:
        return None
    return found["path"], int(found["line"]), int(found["col"] or 1)


def encode(args: Mapping[str, str], notes: Iterable[tuple[str, str]], col: int = 0) -> str:
    """The note for a finding with ``args`` and ``notes`` as ``(text, "path:line[:col]")`` pairs (a
    note without a location, ``where == ""``, is not a related location and is left out); ``col``:
    the finding's column as the scan gives it, when mypy's context starts elsewhere."""
    related = []
    for text, where in notes:
        split = split_where(where)
        if split is not None:
            related.append([split[0], split[1], text, split[2]])
    data: dict[str, object] = {"args": dict(args), "related": related}
    if col:
        data["col"] = col
    return MARK + json.dumps(data, sort_keys=True)


def decode(hint: str) -> Carried | None:
    """The finding carried by one of the ``hint``'s lines (mypy's notes of an error), or None."""
    for line in hint.splitlines():
        if not line.startswith(MARK):
            continue
        try:
            data = json.loads(line[len(MARK) :])
        except json.JSONDecodeError:
            return None
        args, related, col = data.get("args"), data.get("related"), data.get("col", 0)
        if not isinstance(args, dict) or not isinstance(related, list) or not isinstance(col, int):
            return None
        return Carried(
            {str(key): str(value) for key, value in args.items()},
            tuple(
                (str(item[0]), int(item[1]), str(item[2]), int(item[3]) if len(item) == 4 else 1)
                for item in related
                if isinstance(item, list) and len(item) in (3, 4) and all(isinstance(i, int) for i in item[1::2])
            ),
            col,
        )
    return None


__all__ = ["MARK", "Carried", "decode", "encode", "split_where"]
