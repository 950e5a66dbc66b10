"""JSON log records: Cloud Logging / Cloud Run, OpenTelemetry exception events, Sentry events, and
container runtimes' ``{"log": ...}`` lines (a traceback spread over several records)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from awaitguard.incidents.events import Event, Frame, normalise_timestamp
from awaitguard.incidents.text import TextParser

_TIME_KEYS = ("timestamp", "time", "timeUnixNano", "time_unix_nano", "datetime", "receiveTimestamp", "@timestamp")
# text fields that may hold a formatted traceback, in the order they are read
_TEXT_KEYS = ("stack_trace", "stacktrace", "exception", "exc_info", "traceback", "textPayload", "message", "msg")
_OTEL = ("exception.type", "exception.message", "exception.stacktrace")


def timestamp_of(record: Mapping[str, Any]) -> str | None:
    for key in _TIME_KEYS:
        if key in record:
            found = normalise_timestamp(record[key])
            if found is not None:
                return found
    return None


def events_of(record: Mapping[str, Any], inherited: str | None = None) -> Iterator[Event]:
    """The failures one JSON record describes (each once, whichever fields repeat it)."""
    stamp = timestamp_of(record) or inherited
    seen: set[tuple[str, str, tuple[Frame, ...]]] = set()
    for event in _all(record, stamp, 0):
        key = (event.exc_type, event.message, tuple(event.frames))
        if key not in seen:
            seen.add(key)
            yield event


def _all(record: Mapping[str, Any], stamp: str | None, depth: int) -> Iterator[Event]:
    if depth > 4:
        return
    exception = record.get("exception")
    if isinstance(exception, Mapping) and isinstance(exception.get("values"), list):
        yield from _sentry(exception["values"], stamp)
    attributes = _attributes(record.get("attributes"))
    for table in (record, attributes):
        if isinstance(table.get("exception.type"), str):
            yield from _otel(table, stamp)
    for key in _TEXT_KEYS:
        value = record.get(key)
        if isinstance(value, str) and ("Traceback" in value or "RuntimeWarning" in value):
            yield from parse_text(value, stamp)
    for key in ("jsonPayload", "protoPayload", "event", "body", "log_record"):
        inner = record.get(key)
        if isinstance(inner, Mapping):
            yield from _all(inner, timestamp_of(inner) or stamp, depth + 1)
    events = record.get("events")  # an OpenTelemetry span's events
    if isinstance(events, list):
        for item in events[:1000]:
            if isinstance(item, Mapping):
                yield from _all(item, timestamp_of(item) or stamp, depth + 1)


def _attributes(value: object) -> Mapping[str, Any]:
    """OpenTelemetry attributes: a plain mapping, or OTLP's ``[{"key": ..., "value": {"stringValue": ...}}]``."""
    if isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    if isinstance(value, list):
        for item in value[:1000]:
            if isinstance(item, Mapping) and isinstance(item.get("key"), str):
                inner = item.get("value")
                if isinstance(inner, Mapping):
                    inner = next(iter(inner.values()), None)
                out[item["key"]] = inner
    return out


def parse_text(text: str, stamp: str | None) -> Iterator[Event]:
    parser = TextParser()
    for line in text.splitlines():
        yield from parser.feed(line, stamp)
    yield from parser.close()


def _otel(table: Mapping[str, Any], stamp: str | None) -> Iterator[Event]:
    exc_type, message, stack = (table.get(key) for key in _OTEL)
    name = str(exc_type).rsplit(".", 1)[-1]
    found = list(parse_text(stack, stamp)) if isinstance(stack, str) else []
    if found:
        yield from found
        return
    yield Event(name, str(message or ""), [], stamp)


def _sentry(values: list[Any], stamp: str | None) -> Iterator[Event]:
    for value in values[:100]:
        if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
            continue
        frames: list[Frame] = []
        trace = value.get("stacktrace")
        raw = trace.get("frames") if isinstance(trace, Mapping) else None
        for frame in raw if isinstance(raw, list) else []:
            if not isinstance(frame, Mapping):
                continue
            path = frame.get("abs_path") or frame.get("filename")
            line = frame.get("lineno")
            if not isinstance(path, str) or not isinstance(line, int) or isinstance(line, bool):
                continue
            in_app = frame.get("in_app")
            function = frame.get("function")
            frames.append(
                Frame(
                    path,
                    line,
                    function if isinstance(function, str) else "",
                    in_app if isinstance(in_app, bool) else None,
                )
            )
            # Sentry's relative filename, for when abs_path does not map
            filename = frame.get("filename")
            if isinstance(filename, str) and filename != path:
                frames[-1] = Frame(f"{path}\0{filename}", line, frames[-1].function, frames[-1].in_app)
        yield Event(value["type"].rsplit(".", 1)[-1], str(value.get("value") or ""), frames, stamp)
