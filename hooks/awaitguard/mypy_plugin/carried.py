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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MARK = "awaitguard-finding: "


@dataclass(frozen=True)
class Carried:
    args: dict[str, str]
    related: tuple[tuple[str, int, str], ...]  # (path, line, note)


def encode(args: Mapping[str, str], notes: Iterable[tuple[str, str]]) -> str:
    """The note for a finding with ``args`` and ``notes`` as ``(text, "path:line")`` pairs (a note
    without a location, ``where == ""``, is not a related location and is left out)."""
    related = []
    for text, where in notes:
        path, _, line = where.rpartition(":")
        if path and line.isdigit():
            related.append([path, int(line), text])
    return MARK + json.dumps({"args": dict(args), "related": related}, sort_keys=True)


def decode(hint: str) -> Carried | None:
    """The finding carried by one of the ``hint``'s lines (mypy's notes of an error), or None."""
    for line in hint.splitlines():
        if not line.startswith(MARK):
            continue
        try:
            data = json.loads(line[len(MARK) :])
        except json.JSONDecodeError:
            return None
        args, related = data.get("args"), data.get("related")
        if not isinstance(args, dict) or not isinstance(related, list):
            return None
        return Carried(
            {str(key): str(value) for key, value in args.items()},
            tuple(
                (str(item[0]), int(item[1]), str(item[2]))
                for item in related
                if isinstance(item, list) and len(item) == 3 and isinstance(item[1], int)
            ),
        )
    return None


__all__ = ["MARK", "Carried", "decode", "encode"]
