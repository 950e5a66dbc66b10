"""Plain tracebacks and warnings, as Python prints them, also with a log prefix on every line.

A ``Traceback`` fed line by line: ``feed`` returns the events a line completes, ``close`` the one
in progress (a warning; a traceback cut before its exception line is counted as truncated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from awaitguard.incidents.events import Event, Frame, find_timestamp
from awaitguard.incidents.patterns import EXCEPTION_LINE, WARNING_LINE

_TRACEBACK = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
_ORIGIN = "Coroutine created at (most recent call last)"
_NEVER_AWAITED = "RuntimeWarning: coroutine '"
_DIGITS = re.compile(r"\d")
MAX_FRAMES = 500  # deeper tracebacks keep their innermost frames (the ones that matter)


def _shape(prefix: str) -> str:
    return _DIGITS.sub("0", prefix)


@dataclass
class _Block:
    prefix: str
    timestamp: str | None
    warning: Event | None = None  # a never-awaited warning, its frames from "Coroutine created at"
    frames: list[Frame] = field(default_factory=list)
    origin: bool = False


class TextParser:
    def __init__(self) -> None:
        self._block: _Block | None = None
        # the line before (its head), for a traceback that has no timestamp of its own: parsed only then
        self._previous: tuple[str, str | None] = ("", None)
        self.truncated = 0  # tracebacks cut before their exception line

    def feed(self, line: str, timestamp: str | None = None) -> list[Event]:
        """One line, without its newline. ``timestamp``: the record's, when the format has one."""
        out: list[Event] = []
        block = self._block
        if block is not None:
            body = self._strip(block, line)
            if body is None or not self._continue(block, body, out):
                if block.warning is None and self._block is block:
                    self.truncated += 1
                elif self._block is block:
                    out.append(self._finish_warning(block))
                self._block = None
            else:
                return out
        self._start(line, timestamp, out)
        return out

    def close(self) -> list[Event]:
        block, self._block = self._block, None
        if block is None:
            return []
        if block.warning is not None:
            return [self._finish_warning(block)]
        self.truncated += 1
        return []

    @staticmethod
    def _strip(block: _Block, line: str) -> str | None:
        size = len(block.prefix)
        if not size:
            return line
        head = line[:size]
        if head == block.prefix or _shape(head) == _shape(block.prefix):
            return line[size:]
        return None

    def _start(self, line: str, timestamp: str | None, out: list[Event]) -> None:
        at = line.find(_TRACEBACK)
        if at >= 0:
            prefix = line[:at]
            self._block = _Block(prefix, timestamp or find_timestamp(prefix[:64]) or self._before())
        elif (at := line.find(_NEVER_AWAITED)) >= 0:  # the regex on a whole long line would be quadratic
            start = max(0, at - 4096)  # a path is never longer
            match = WARNING_LINE.search(line[start : at + 300])
            if match is not None:
                prefix = line[: start + match.start()]
                warning = Event("RuntimeWarning", match.group("msg"))
                warning.frames.append(Frame(match.group("path"), int(match.group("line")), ""))
                self._block = _Block(
                    prefix, timestamp or find_timestamp(prefix[:64]) or self._before(), warning=warning
                )
        self._previous = (line[:64], timestamp)

    def _before(self) -> str | None:
        head, given = self._previous
        return given or find_timestamp(head)

    def _continue(self, block: _Block, body: str, out: list[Event]) -> bool:
        """Whether ``body`` (the line without its prefix) belongs to the block; completes it if it ends it."""
        frame = _FRAME.match(body)
        if frame is not None:
            block.frames.append(Frame(frame.group("path"), int(frame.group("line")), frame.group("func") or ""))
            if len(block.frames) > MAX_FRAMES:
                del block.frames[0]
            return True
        if block.warning is not None:
            if body.strip() == _ORIGIN:
                block.origin = True
                return True
            return body.startswith(" ") and body.strip() != ""
        if body.startswith(" ") or not body.strip():
            return True  # source lines, carets, exception-group bars
        match = EXCEPTION_LINE.match(body.rstrip())
        if match is None:
            return False
        event = Event(match.group("type"), (match.group("msg") or "").strip(), block.frames, block.timestamp)
        out.append(event)
        self._block = None
        return True

    @staticmethod
    def _finish_warning(block: _Block) -> Event:
        assert block.warning is not None
        event = block.warning
        event.timestamp = block.timestamp
        if block.origin and block.frames:
            event.frames = block.frames  # where the coroutine was created: better than where it was collected
        return event
