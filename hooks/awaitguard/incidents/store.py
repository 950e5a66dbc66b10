"""The incidents file: TOML, one ``[[incident]]`` table per incident, sorted, written byte-stable.

Counting rule (what makes a second ingest of the same log change nothing): an event counts when it
is newer than the incident's ``last-seen``, or at ``last-seen`` with a fingerprint not in ``recent``
(the events at that instant already counted). Older events only move ``first-seen`` back. Events
without a timestamp cannot be told from a re-read, so ``untimed`` keeps the most seen in one ingest.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from awaitguard.incidents import DEFAULT_FILE as DEFAULT_FILE

HEADER = (
    "# awaitguard incidents: async failures seen in production, written by `awaitguard ingest`.\n"
    "# Every `awaitguard scan` re-checks them; `awaitguard incidents prune` drops the fixed ones.\n"
    "# Edit only `accepted` (true: no test has to reach the line). Format: docs/incidents.md\n"
)
MAX_RECENT = 64  # fingerprints kept for the events at last-seen


class StoreError(Exception):
    """The incidents file cannot be read: one user-facing line."""


@dataclass
class Incident:
    id: str
    kind: str
    rule: str  # "" when no static rule re-checks this kind (nested event loops)
    path: str
    line: int
    function: str
    callee: str
    source: str  # the line as it was when ingested (stripped)
    error: str
    first_seen: str = ""
    last_seen: str = ""
    count: int = 0
    untimed: int = 0
    accepted: bool = False
    recent: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.rule or self.kind, self.path, self.function, self.callee)

    def seen(self) -> str:
        """When production saw it, in words."""
        times = self.count + self.untimed
        howmany = "once" if times == 1 else f"{times} times"
        if self.first_seen and self.first_seen != self.last_seen:
            return f"{howmany}, {self.first_seen} to {self.last_seen}"
        if self.last_seen:
            return f"{howmany}, {self.last_seen}"
        return howmany


def make_id(key: tuple[str, str, str, str]) -> str:
    import hashlib  # only when incidents are recorded: every scan reads this module

    return "ag-" + hashlib.sha256("\0".join(key).encode()).hexdigest()[:8]


_FIELDS = (
    ("id", "id"),
    ("kind", "kind"),
    ("rule", "rule"),
    ("path", "path"),
    ("line", "line"),
    ("function", "function"),
    ("callee", "callee"),
    ("source", "source"),
    ("error", "error"),
    ("first-seen", "first_seen"),
    ("last-seen", "last_seen"),
    ("count", "count"),
    ("untimed", "untimed"),
    ("accepted", "accepted"),
    ("recent", "recent"),
)


def load(path: Path) -> list[Incident]:
    if not path.is_file():
        return []
    try:
        return loads(path.read_text(encoding="utf-8"), path)
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None


def loads(text: str, path: Path) -> list[Incident]:
    """The incidents of a file's text; ``path`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StoreError(f"{path}: not valid TOML ({exc})") from None
    out: list[Incident] = []
    for number, table in enumerate(data.get("incident", []), 1):
        if not isinstance(table, dict):
            raise StoreError(f"{path}: incident {number} is not a table")
        out.append(_incident(table, path, number))
    return out


def _incident(table: dict[str, Any], path: Path, number: int) -> Incident:
    values: dict[str, Any] = {}
    known = dict(_FIELDS)
    for key, value in table.items():
        if key not in known:
            raise StoreError(f"{path}: incident {number}: unknown key `{key}`")
        values[known[key]] = value
    for required in ("id", "kind", "path", "line", "callee"):
        if required not in values:
            raise StoreError(f"{path}: incident {number}: `{required}` is missing")
    defaults = Incident("", "", "", "", 0, "<module>", "", "", "")
    for name, value in values.items():
        wanted = type(getattr(defaults, name))
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise StoreError(f"{path}: incident {number}: `{name.replace('_', '-')}` must be a {wanted.__name__}")
    return Incident(**{**defaults.__dict__, "recent": [], **values})


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value)
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def sort_key(incident: Incident) -> tuple[str, int, str, str]:
    return (incident.path, incident.line, incident.rule or incident.kind, incident.id)


def dumps(incidents: Iterable[Incident]) -> str:
    parts = [HEADER]
    for incident in sorted(incidents, key=sort_key):
        lines = ["", "[[incident]]"]
        for key, name in _FIELDS:
            value = getattr(incident, name)
            if name in ("untimed", "first_seen", "last_seen", "recent", "rule") and not value:
                continue  # only what applies: an untimed incident has no dates
            if name == "count" and not value and incident.untimed:
                continue  # only what applies: an untimed incident has no dates
            lines.append(f"{key} = {_toml(value)}")
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)


def save(path: Path, incidents: Iterable[Incident]) -> bool:
    """Write the file; False when its bytes would not change (then it is not touched)."""
    text = dumps(incidents)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)
    return True
