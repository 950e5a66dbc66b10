"""Which tests execute each incident's line: line events for those lines only (``sys.monitoring`` on
3.12+, ``sys.settrace`` before). No pytest here: the smoke plugin sets ``current`` per test."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from awaitguard.incidents import store
from awaitguard.incidents.recheck import incident_kind
from awaitguard.incidents.sites import Module
from awaitguard.source import SourceError, parse

_TOOL_NAME = "awaitguard-incidents"


@dataclass(frozen=True)
class Target:
    incident: store.Incident
    path: str  # relative, as recorded
    line: int  # where the site is now (followed when the line moved)


def targets(root: Path, incidents: Sequence[store.Incident]) -> list[Target]:
    """Each incident's current line in the work tree (an incident whose site is gone is left out)."""
    out = []
    for incident in incidents:
        kind = incident_kind(incident)
        try:
            data = (root / incident.path).read_bytes()
            module = Module(parse(data, incident.path), data)
        except (OSError, SourceError):
            continue
        site = module.follow(kind, incident.callee, incident.function, incident.line) if kind else None
        if site is not None:
            out.append(Target(incident, incident.path, site.line))
    return out


class Tracker:
    """Records, per incident id, the tests (``current``) during which its line ran."""

    def __init__(self, root: Path, wanted: Sequence[Target]) -> None:
        self.targets = list(wanted)
        self.current = ""
        self.reached: dict[str, set[str]] = {t.incident.id: set() for t in wanted}
        self._lines: dict[tuple[str, int], list[str]] = {}
        for target in wanted:
            real = os.path.realpath(root / target.path)
            self._lines.setdefault((real, target.line), []).append(target.incident.id)
        self._files = {path for path, _ in self._lines}
        self._names: dict[str, str | None] = {}  # co_filename -> its realpath when one of ours
        self._tool: int | None = None

    def _ours(self, filename: str) -> str | None:
        if filename not in self._names:
            real = os.path.realpath(filename)
            self._names[filename] = real if real in self._files else None
        return self._names[filename]

    def _hit(self, filename: str, line: int) -> bool:
        real = self._ours(filename)
        if real is None:
            return False
        ids = self._lines.get((real, line))
        if ids is not None and self.current:
            for incident in ids:
                self.reached[incident].add(self.current)
        return True

    def start(self) -> None:
        if not self._lines:
            return
        if sys.version_info >= (3, 12):
            self._start_monitoring()
        else:
            self._start_tracing()

    def stop(self) -> None:
        if sys.version_info >= (3, 12):
            if self._tool is not None:
                monitoring: Any = getattr(sys, "monitoring")  # noqa: B009 - absent before 3.12 (mypy's target)
                monitoring.set_events(self._tool, 0)
                monitoring.register_callback(self._tool, monitoring.events.LINE, None)
                monitoring.free_tool_id(self._tool)
                self._tool = None
        else:
            sys.settrace(None)
            threading.settrace(None)

    def _start_monitoring(self) -> None:
        monitoring: Any = getattr(sys, "monitoring")  # noqa: B009
        for tool in (4, 3, 2, 1):  # coverage.py and profilers take the low ids
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, _TOOL_NAME)
                self._tool = tool
                break
        else:
            return  # every tool id is taken: nothing is recorded, and every incident reads as unreached
        disable = monitoring.DISABLE

        def line(code: CodeType, number: int) -> object:
            if not self._hit(code.co_filename, number):
                return disable  # never again for this line: other files cost one event per line
            return None

        monitoring.register_callback(self._tool, monitoring.events.LINE, line)
        monitoring.set_events(self._tool, monitoring.events.LINE)

    def _start_tracing(self) -> None:
        def local(frame: FrameType, event: str, _arg: object) -> Callable[..., object] | None:
            if event == "line":
                self._hit(frame.f_code.co_filename, frame.f_lineno)
            return local

        def call(frame: FrameType, event: str, _arg: object) -> Callable[..., object] | None:
            if event == "call" and self._ours(frame.f_code.co_filename) is not None:
                return local
            return None

        threading.settrace(call)  # type: ignore[arg-type]
        sys.settrace(call)  # type: ignore[arg-type]


def unreached(tracker: Tracker) -> list[Target]:
    return [t for t in tracker.targets if not tracker.reached[t.incident.id] and not t.incident.accepted]
