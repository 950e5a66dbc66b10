"""What a log says about one failure: the error, its frames and when, whatever format it came in."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass(frozen=True)
class Frame:
    path: str  # as the log writes it (a deployed path: /app/..., site-packages/...)
    line: int
    function: str
    in_app: bool | None = None  # Sentry's flag; None when the log does not say


@dataclass
class Event:
    exc_type: str  # bare name: TypeError
    message: str
    frames: list[Frame] = field(default_factory=list)  # outermost first, as tracebacks print them
    timestamp: str | None = None  # normalised: 2026-12-01T10:00:00.123Z (UTC)

    @property
    def error(self) -> str:
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type

    def fingerprint(self, site: str) -> str:
        """Tells this event from another at the same timestamp and the same ``site`` (where it maps in the
        work tree), whichever log format or deployed path it came through: re-ingesting it, or the same
        failure from a second log sink, changes nothing."""
        data = f"{self.timestamp}\n{_stable(self.error)}\n{site}".encode("utf-8", "replace")
        return hashlib.sha256(data).hexdigest()[:12]


_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]+")


def _stable(text: str) -> str:
    """Error text without what changes from run to run (object addresses)."""
    return _ADDRESS.sub("at 0x…", text)


def stable_error(text: str, limit: int = 300) -> str:
    text = _stable(text.strip().replace("\n", " "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?:[.,](?P<frac>\d{1,9}))?"
    r"\s?(?P<tz>Z|[+-]\d{2}:?\d{2}|UTC)?"
)


def find_timestamp(text: str) -> str | None:
    """The first ISO-like date and time in ``text`` (a log prefix), normalised; None if none."""
    match = _ISO.search(text)
    return _from_match(match) if match else None


def _from_match(match: re.Match[str]) -> str | None:
    frac = (match.group("frac") or "")[:6].ljust(6, "0")
    tz = match.group("tz") or "Z"
    if tz in ("Z", "UTC"):
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    try:
        moment = datetime.fromisoformat(f"{match.group('date')}T{match.group('time')}.{frac}{tz}")
    except ValueError:
        return None
    return _format(moment)


def _format(moment: datetime) -> str:
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def normalise_timestamp(value: object) -> str | None:
    """A JSON timestamp: ISO text, seconds since the epoch (Sentry), nanoseconds (OpenTelemetry),
    or Cloud Logging's ``{"seconds": ..., "nanos": ...}``."""
    if isinstance(value, dict):
        seconds, nanos = value.get("seconds"), value.get("nanos", 0)
        if isinstance(seconds, (int, str)) and isinstance(nanos, int):
            try:
                return _epoch(int(seconds) + nanos / 1e9)
            except ValueError:
                return None
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)):
        number = float(value)
        if number > 1e17:  # nanoseconds (timeUnixNano)
            number /= 1e9
        elif number > 1e14:  # microseconds
            number /= 1e6
        elif number > 1e11:  # milliseconds
            number /= 1e3
        return _epoch(number)
    if isinstance(value, str):
        match = _ISO.match(value.strip())
        return _from_match(match) if match else None
    return None


def _epoch(seconds: float) -> str | None:
    try:
        return _format(datetime.fromtimestamp(round(seconds, 6), tz=timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None
