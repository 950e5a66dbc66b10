"""Any log, streamed: a line at a time (at most ``MAX_LINE`` bytes of it), each line a JSON record or
plain text. Damage (binary data, cut records, huge lines) is counted and skipped, never fatal, and
what was read before it is kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from awaitguard.incidents.events import Event
from awaitguard.incidents.jsonlog import events_of, timestamp_of
from awaitguard.incidents.text import TextParser

MAX_LINE = 8 * 1024 * 1024  # a Sentry event with local variables can run to megabytes


@dataclass
class ReadStats:
    lines: int = 0
    json_records: int = 0
    malformed_json: int = 0  # lines that start like JSON and do not parse (cut, damaged)
    huge_lines: int = 0  # longer than MAX_LINE: skipped
    binary_lines: int = 0  # not UTF-8 text
    truncated_tracebacks: int = 0


def read(stream: BinaryIO, stats: ReadStats, max_line: int = MAX_LINE) -> Iterator[Event]:
    text = TextParser()
    try:
        while True:
            raw = stream.readline(max_line)
            if not raw:
                break
            stats.lines += 1
            if len(raw) == max_line and not raw.endswith(b"\n"):
                stats.huge_lines += 1
                while True:  # the rest of the huge line, without keeping it
                    rest = stream.readline(max_line)
                    if not rest or rest.endswith(b"\n"):
                        break
                yield from text.close()
                continue
            if b"\0" in raw:
                stats.binary_lines += 1
                raw = raw.replace(b"\0", b"")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                stats.binary_lines += 1
                line = raw.decode("utf-8", "replace")
            line = line.rstrip("\r\n")
            stripped = line.lstrip()
            if stripped.startswith("{"):
                try:
                    record = json.loads(stripped)
                except (ValueError, RecursionError):
                    stats.malformed_json += 1
                    yield from text.close()
                    continue
                if isinstance(record, dict):
                    stats.json_records += 1
                    log = record.get("log")
                    if isinstance(log, str):  # docker's json-file: one line of the program's output per record
                        for part in log.splitlines() or [""]:
                            yield from text.feed(part, timestamp_of(record))
                        continue
                    yield from text.close()
                    yield from events_of(record)
                    continue
            yield from text.feed(line)
        yield from text.close()
    finally:
        stats.truncated_tracebacks += text.truncated
