"""Real failures on this machine's CPythons, wrapped into the log formats production writes.

Used by tests/test_incidents_*.py: each case of tests/fixtures/incidents/app/cases.py runs under an
interpreter, its real stderr is captured, then written out as a plain log, a prefixed log, Cloud
Logging JSON, OpenTelemetry span events, Sentry events and docker json-file lines."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "incidents"
CASES = (
    "await", "dropped", "kept", "kept_origin", "awith", "with", "afor", "for", "value", "subscript", "attr", "called",
    "nested", "handed", "gathered",
)  # fmt: skip
VERSIONS = ("3.10", "3.11", "3.12", "3.13")
FORMATS = ("prefixed", "cloud", "otel", "sentry", "docker")


def find_python(version: str) -> str | None:
    """As .ci/run's find_python: a pyenv build, else python3.X on PATH, that actually runs."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [*sorted(glob.glob(f"{root}/versions/{version}.*/bin/python3")), f"python{version}"]
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        candidates.insert(0, sys.executable)
    for candidate in candidates:
        found = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
        if found and subprocess.run([found, "-c", "pass"], capture_output=True, check=False).returncode == 0:
            return found
    return None


def project(dest: Path) -> Path:
    """A copy of the fixture project (the work tree the logs are mapped onto)."""
    shutil.copytree(FIXTURE, dest)
    (dest / "pyproject.toml").write_text("[project]\nname = 'shop'\n", encoding="utf-8")
    return dest


def run_cases(python: str, root: Path) -> dict[str, str]:
    """case -> its real stderr, with the work tree's path as the program saw it."""
    out = {}
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": ""}
    for case in CASES:
        proc = subprocess.run([python, "-m", "app.cases", case], cwd=root, capture_output=True, text=True, env=env)
        out[case] = proc.stderr
    return out


def stamp(index: int) -> str:
    return f"2026-12-01T10:00:{index:02d}.250Z"


def deployed(text: str, root: Path, prefix: str) -> str:
    return text.replace(f"{root}/", prefix)


def plain(runs: dict[str, str], root: Path) -> str:
    return "".join(deployed(err, root, "/app/") for err in runs.values())


def prefixed(runs: dict[str, str], root: Path) -> str:
    lines = []
    for i, err in enumerate(runs.values()):
        for j, line in enumerate(deployed(err, root, "/app/").splitlines()):
            lines.append(f"{stamp(i).replace('T', ' ')} web.1 app[{4000 + j * 7}]: {line}\n")
    return "".join(lines)


def cloud(runs: dict[str, str], root: Path) -> str:
    records = []
    for i, err in enumerate(runs.values()):
        text = deployed(err, root, "/workspace/")
        records.append({"severity": "ERROR", "message": text, "timestamp": stamp(i), "logName": "projects/p/logs/run"})
    return "".join(json.dumps(r) + "\n" for r in records)


def _nanos(index: int) -> str:
    moment = datetime(2026, 12, 1, 10, 0, index, 250000, tzinfo=timezone.utc)
    return str(int(moment.timestamp()) * 10**9 + 250_000_000)


def otel(runs: dict[str, str], root: Path) -> str:
    """One span per case; its exception event as OTLP JSON attributes (a list of key/value)."""
    records = []
    for i, err in enumerate(runs.values()):
        text = deployed(err, root, "/srv/shop/")
        last = [line for line in text.splitlines() if re.match(r"^\w+(Error|Warning): ", line)]
        exc_type, _, message = (last[-1] if last else "RuntimeWarning: ").partition(": ")
        attributes = [
            {"key": "exception.type", "value": {"stringValue": exc_type}},
            {"key": "exception.message", "value": {"stringValue": message}},
            {"key": "exception.stacktrace", "value": {"stringValue": text}},
        ]
        event = {"name": "exception", "timeUnixNano": _nanos(i), "attributes": attributes}
        records.append({"name": "GET /items", "traceId": f"{i:032x}", "events": [event]})
    return "".join(json.dumps(r) + "\n" for r in records)


_FRAME = re.compile(r'^  File "([^"]+)", line (\d+), in (.+)$')
_WARNING = re.compile(r"^(\S+):(\d+): (RuntimeWarning): (.*)$")


def _sentry_frames(frames: list[tuple[str, int, str]], root: Path, site: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for path, line, function in frames:
        ours = path.startswith(f"{root}/")
        relative = path[len(str(root)) + 1 :] if ours else path.rsplit("/", 1)[-1]
        out.append(
            {
                "filename": relative,
                "abs_path": f"{site}/{relative}" if ours else path,
                "lineno": line,
                "function": function,
                "in_app": ours,
            }
        )
    return out


def sentry(runs: dict[str, str], root: Path) -> str:
    """A Sentry event per exception (a warning too: as a warnings hook would capture it)."""
    site = "/usr/local/lib/python3.12/site-packages"
    records = []
    for i, err in enumerate(runs.values()):
        values = []
        frames: list[tuple[str, int, str]] = []
        warning: tuple[str, str] | None = None
        for line in err.splitlines():
            frame = _FRAME.match(line)
            if frame:
                frames.append((frame.group(1), int(frame.group(2)), frame.group(3)))
            elif (match := _WARNING.match(line)) is not None:
                warning, frames = (match.group(3), match.group(4)), [(match.group(1), int(match.group(2)), "")]
            elif line.startswith("Coroutine created at"):
                frames = []
            elif (match := re.match(r"^(\w+(?:Error|Warning)): (.*)$", line)) is not None:
                if warning is None or not match.group(2).startswith("Enable tracemalloc"):
                    values.append({"type": match.group(1), "value": match.group(2), "stacktrace": {"frames": []}})
                    values[-1]["stacktrace"]["frames"] = _sentry_frames(frames, root, site)  # type: ignore[index]
                    frames = []
                else:
                    values.append({"type": warning[0], "value": warning[1]})
                    values[-1]["stacktrace"] = {"frames": _sentry_frames(frames, root, site)}
                    frames, warning = [], None
        for value in values:
            records.append({"event_id": f"{i:032x}", "timestamp": stamp(i), "exception": {"values": [value]}})
    return "".join(json.dumps(r) + "\n" for r in records)


def docker(runs: dict[str, str], root: Path) -> str:
    """docker's json-file driver: a record per line of output."""
    records = []
    for i, err in enumerate(runs.values()):
        for line in deployed(err, root, "/app/").splitlines():
            records.append({"log": line + "\n", "stream": "stderr", "time": stamp(i)})
    return "".join(json.dumps(r) + "\n" for r in records)


WRITERS = {"prefixed": prefixed, "cloud": cloud, "otel": otel, "sentry": sentry, "docker": docker}
