"""mypy ``-O json`` records -> awaitguard findings. Everything that is not async misuse is dropped."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from awaitguard.findings import Finding, Related
from awaitguard.mypy_plugin.errorcodes import CODE_BY_SLUG
from awaitguard.rules import CODES

IMPORT_CODES = frozenset({"import", "import-not-found", "import-untyped"})
_ASYNC_TYPES = (
    "Coroutine[",
    "Awaitable[",
    "AsyncGenerator[",
    "AsyncIterator[",
    "AsyncIterable[",
    "_AsyncGeneratorContextManager[",
    "Task[",
    "Future[",
)
_NO_ATTR = re.compile(r'^"(?P<type>.+)" has no attribute "(?P<attr>__\w+__)"')
_AWAIT = re.compile(
    r'^Incompatible types in "(?P<kw>await|async with|async for)"'
    r'(?: for "\w+")? \(actual type "(?P<type>.+?)", expected type'
)
_DEFINED_AT = re.compile(r"^(?P<note>.*) \(defined at (?P<path>.+):(?P<line>\d+)\)$")
MISSING_AWAIT_HINTS = ('forgot to use "await"', "missing an await")

CM_ERROR = "TypeError (\"'{type}' object does not support the asynchronous context manager protocol\")"
SYNC_CM_ERROR = "TypeError (\"'{type}' object does not support the context manager protocol\")"
AITER_ERROR = "TypeError (\"'async for' requires an object with __aiter__ method, got {type}\")"
ITER_ERROR = "TypeError (\"'{type}' object is not iterable\")"

LineReader = Callable[[str, int], str]


def _template_regex(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    seen: set[str] = set()
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(f"(?P<{field}>.+?)" if field not in seen else ".+?")
            seen.add(field)
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


def _span(record: Mapping[str, Any], read_line: LineReader) -> str:
    line = read_line(record["file"], record["line"])
    start = max(record.get("column", 0), 0)
    end = record.get("end_column", -1) if record.get("end_line") == record["line"] else len(line)
    text = line[start:end] if end and end > start else line[start:]
    return text.strip() or "..."


def _is_async_type(name: str) -> bool:
    return name.startswith(_ASYNC_TYPES) or name.startswith(("asyncio.", "typing.Coroutine"))


def _own(code: str, record: Mapping[str, Any]) -> Verdict:
    """A finding the plugin emitted: args back from its template, fix and related from its notes."""
    meta = CODES[code]
    match = _template_regex(meta.template).match(record["message"])
    args = dict(match.groupdict()) if match else {}
    related: list[Related] = []
    for note in (record.get("hint") or "").splitlines():
        if note.startswith("help: "):
            args.setdefault("fix", note[len("help: ") :])
            continue
        located = _DEFINED_AT.match(note)
        if located:
            related.append(Related(located["path"], int(located["line"]), 1, located["note"]))
    return code, args, related


Verdict = tuple[str, dict[str, str], list[Related]]


def classify(record: Mapping[str, Any], read_line: LineReader) -> Verdict | None:
    slug = record.get("code") or ""
    message = record.get("message", "")
    hint = record.get("hint") or ""
    if slug in CODE_BY_SLUG:
        return _own(CODE_BY_SLUG[slug], record)
    expr = _span(record, read_line)
    awaited = _AWAIT.match(message)
    if awaited:
        typ, keyword = awaited["type"], awaited["kw"]
        if keyword == "await":
            what = f"a value of type `{typ}`"
            return (
                "AG101",
                {
                    "expr": expr.removeprefix("await ").strip(),
                    "what": what,
                    "fix": "drop the `await`, or call an `async def` variant",
                },
                [],
            )
        if keyword == "async with":
            return (
                "AG103",
                {
                    "keyword": keyword,
                    "expr": expr,
                    "what": f"`{typ}` from `__aenter__`",
                    "error": "TypeError (object can't be used in 'await' expression)",
                    "fix": "make `__aenter__`/`__aexit__` `async def`, or use `with`",
                },
                [],
            )
        return (
            "AG104",
            {
                "keyword": keyword,
                "expr": expr,
                "what": f"`{typ}` from `__anext__`",
                "error": "TypeError (object can't be used in 'await' expression)",
                "fix": "make `__anext__` an `async def`, or use `for`",
            },
            [],
        )
    # AG102 means a *coroutine* never awaited: other unused awaitables (tasks, textual's AwaitMount,
    # objects that schedule work when created and may be awaited) are not that bug
    if slug == "unused-coroutine" or (slug == "unused-awaitable" and '"Coroutine[' in message):
        return (
            "AG102",
            {
                "expr": expr,
                "how": "dropped as a statement",
                "qualname": _callee(expr),
                "fix": f"write `await {expr}`, or keep the task from `asyncio.create_task(...)`",
            },
            [],
        )
    if slug == "truthy-bool" and any(marker in message for marker in _ASYNC_TYPES):
        return (
            "AG102",
            {
                "expr": expr,
                "how": "tested in a boolean context (always true)",
                "qualname": _callee(expr),
                "fix": f"test `await {expr}` instead",
            },
            [],
        )
    if slug == "unused-awaitable":
        return None  # a non-coroutine awaitable left unused (its "missing an await?" note included)
    if any(marker in hint for marker in MISSING_AWAIT_HINTS):
        return (
            "AG102",
            {
                "expr": expr,
                "how": "used as if it were its result",
                "qualname": _callee(expr),
                "fix": f"write `await {expr}`",
            },
            [],
        )
    attr = _NO_ATTR.match(message) if slug in ("attr-defined", "union-attr") else None
    if attr:
        return _protocol(attr["type"], attr["attr"], expr)
    if slug in ("await-not-async", "top-level-await") and "AG106" in CODES:
        where = "module level" if slug == "top-level-await" else "a plain `def`"
        return (
            "AG106",
            {
                "expr": expr.removeprefix("await ").strip(),
                "where": where,
                "fix": "make the enclosing function `async def`, or call without `await`",
            },
            [],
        )
    return None


def _protocol(typ: str, attr: str, expr: str) -> Verdict | None:
    if attr in ("__aenter__", "__aexit__"):
        return _misuse("AG103", "async with", expr, f"`{typ}`, a sync context manager", CM_ERROR, typ, "with")
    if attr in ("__enter__", "__exit__") and _is_async_type(typ):
        return _misuse("AG103", "with", expr, f"`{typ}`, an async context manager", SYNC_CM_ERROR, typ, "async with")
    if attr in ("__aiter__", "__anext__"):
        kind = "a coroutine, not an async iterator" if typ.startswith("Coroutine[") else "a sync iterable"
        return _misuse("AG104", "async for", expr, f"`{typ}`, {kind}", AITER_ERROR, typ, "for ... in")
    if attr in ("__iter__", "__next__") and _is_async_type(typ):
        return _misuse("AG104", "for", expr, f"`{typ}`, an async iterable", ITER_ERROR, typ, "async for ... in")
    return None


def _misuse(code: str, keyword: str, expr: str, what: str, error: str, typ: str, instead: str) -> Verdict:
    """AG103/AG104 from a missing protocol method: ``keyword`` was used where ``instead`` works."""
    args = {"keyword": keyword, "expr": expr, "what": what, "error": error.format(type=typ)}
    return code, {**args, "fix": f"write `{instead} {expr}`"}, []


def _callee(expr: str) -> str:
    return expr.partition("(")[0].removeprefix("await ").strip() or expr


def code_points(record: Mapping[str, Any], read_line: LineReader, native: bool) -> dict[str, Any]:
    """``record`` with 0-based code-point columns. mypy's legacy parser counts UTF-8 bytes; its native
    parser skews columns after non-ASCII text on the line, so there the start is found by an anchor
    (``await``, or the called name of a plugin finding) when it occurs once on the line."""
    line = read_line(record["file"], record["line"])
    column = record.get("column", -1)
    if line.isascii() or column < 0:
        return dict(record)
    fixed = dict(record)
    if not native:
        data = line.encode()
        fixed["column"] = len(data[:column].decode("utf-8", "replace"))
        if record.get("end_line") == record["line"] and record.get("end_column", -1) >= 0:
            fixed["end_column"] = len(data[: record["end_column"]].decode("utf-8", "replace"))
        return fixed
    fixed.pop("end_line", None)  # the span runs to the end of the line
    if record.get("code") in CODE_BY_SLUG:
        anchor = _callee(record.get("message", "").partition("`")[2].partition("`")[0]).rpartition(".")[2]
    else:
        anchor = "await" if _AWAIT.match(record.get("message", "")) else ""
    if anchor and line.count(anchor) == 1:
        fixed["column"] = line.index(anchor)
    return fixed


def translate(
    records: Iterable[Mapping[str, Any]], read_line: LineReader, native: bool = True
) -> tuple[list[Finding], int]:
    """Findings, plus how many imports mypy could not resolve."""
    findings: list[Finding] = []
    unresolved = 0
    for raw in records:
        record = code_points(raw, read_line, native)
        if record.get("severity") != "error":
            continue
        if record.get("code") in IMPORT_CODES:
            unresolved += 1
            continue
        verdict = classify(record, read_line)
        if verdict is None:
            continue
        code, args, related = verdict
        col = max(record.get("column", 0), 0) + 1
        findings.append(Finding.make(record["file"], record["line"], col, code, args, related))
    return findings, unresolved


__all__ = ["IMPORT_CODES", "classify", "code_points", "translate"]
