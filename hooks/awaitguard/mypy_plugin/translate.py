"""mypy ``-O json`` records -> awaitguard findings. Everything that is not async misuse is dropped."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from awaitguard.findings import Finding, Related
from awaitguard.mypy_plugin import placed
from awaitguard.mypy_plugin.carried import decode
from awaitguard.mypy_plugin.errorcodes import CODE_BY_SLUG
from awaitguard.mypy_plugin.stored import collapse, enclosing_class, innermost_scope
from awaitguard.rules import CODES
from awaitguard.rules.awaits import AG101, AG103, AG104
from awaitguard.rules.awaits.typed import (
    Form,
    await_words,
    coroutine_iteration_words,
    entry_words,
    protocol_words,
)
from awaitguard.rules.dropped import AG102, typed_args
from awaitguard.rules.placement import AG106

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
_NO_ATTR = re.compile(r'^"(?P<type>.+)" has no attribute "(?P<attr>__\w+__)"(?:; maybe "(?P<twin>__\w+__)"\?)?')
_AWAIT = re.compile(
    r'^Incompatible types in "(?P<kw>await|async with|async for)"'
    r'(?: for "\w+")? \(actual type "(?P<type>.+?)", expected type'
)
MISSING_AWAIT_HINTS = ('forgot to use "await"', "missing an await")
# mypy messages that name the value's type and the type the context expects (the "maybe you forgot
# to use await" note comes with these): (value, expected)
_MISMATCH = (
    re.compile(r'expression has type "(?P<value>.+)", (?:variable|base class .+) has type "(?P<expected>.+)"\)'),
    re.compile(r'\(got "(?P<value>.+)", expected "(?P<expected>.+)"\)'),
    re.compile(r'has incompatible type "(?P<value>.+)"; expected "(?P<expected>.+)"'),
)
_COROUTINE_VALUE = re.compile(r'"Coroutine\[')
_UNION_ITEM = re.compile(r'^Item "(?P<item>.+?)" of "(?P<union>.+)" has no attribute')
_ATTRIBUTE = re.compile(r'has no attribute "(?P<attr>\w+)"')
# Types whose values are never awaitable, and which iterate / manage context synchronously.
_PLAIN_TYPES = ("int", "str", "bytes", "bool", "float", "complex", "bytearray", "memoryview", "object")
_PLAIN_PREFIXES = ("dict[", "list[", "tuple[", "set[", "frozenset[", "Literal[", "type[")
_SYNC_ITERABLES = (
    *_PLAIN_PREFIXES[:5],
    "Iterator[",
    "Iterable[",
    "Generator[",
    "Sequence[",
    "Mapping[",
    "MutableMapping[",
    "MutableSequence[",
    "Collection[",
    "range",
    "str",
    "bytes",
    "dict_keys[",
    "dict_values[",
    "dict_items[",
    "map[",
    "filter[",
    "zip[",
    "enumerate[",
    "reversed[",
)
_SYNC_MANAGERS = ("_GeneratorContextManager[", "AbstractContextManager[", "ContextManager[", "ExitStack")

LineReader = Callable[[str, int], str]


def _span(record: Mapping[str, Any], read_line: LineReader) -> str:
    line = read_line(record["file"], record["line"])
    start = max(record.get("column", 0), 0)
    end = record.get("end_column", -1) if record.get("end_line") == record["line"] else len(line)
    text = line[start:end] if end and end > start else line[start:]
    return text.strip() or "..."


def _is_async_type(name: str) -> bool:
    return name.startswith(_ASYNC_TYPES) or name.startswith(("asyncio.", "typing.Coroutine"))


def members(typ: str) -> list[str]:
    """The members of a union as mypy prints it (``A | B[C | D]``, ``Optional[A]``, ``Union[A, B]``)."""
    typ = typ.strip()
    for wrapper, sep in (("Optional[", None), ("Union[", ",")):
        if typ.startswith(wrapper) and typ.endswith("]"):
            inner = typ[len(wrapper) : -1]
            return [*_split(inner, ","), "None"] if sep is None else _split(inner, ",")
    return _split(typ, "|")


def _split(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "[(":
            depth += 1
        elif not quoted and char in "])":
            depth -= 1
        if char == sep and depth == 0 and not quoted:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    parts.append(current.strip())
    return [part for part in parts if part]


def has_none(typ: str) -> bool:
    """``None`` or a union holding it: a value that may be ``None`` (a lazily set attribute, an
    optional callback) fails on ``None`` only, which the types cannot promise happens."""
    return any(member == "None" for member in members(typ))


def _plain(typ: str) -> bool:
    return typ in _PLAIN_TYPES or typ.startswith(_PLAIN_PREFIXES)


def _certainly_not_awaitable(typ: str) -> bool:
    """Awaiting a value of type ``typ`` fails whatever value it holds at run time.

    One class: mypy found no ``__await__``. A union: mypy found one member without ``__await__``,
    the others may have it, so only builtin members (never awaitable) make it certain."""
    parts = members(typ)
    if has_none(typ):
        return False
    return len(parts) == 1 or all(_plain(part) for part in parts)


def _a_call(text: str) -> bool:
    """Whether ``text`` (an awaited operand as written) is a call: `await manager.start()` of a def declared
    `-> None` fails whatever the call does (an attribute or a variable typed `None` may be set later)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, ast.Call)


_KIND_CLAIM = re.compile(r"is `(?P<kind>async def|def)` here$")


def _checked(path: str, line: int, note: str, read_line: LineReader) -> bool:
    """The note's location is a line of the file it names, and a ``def``/``async def`` claim is
    what that line defines (a decorator line above the ``def`` is accepted too)."""
    text = read_line(path, line).strip()
    if not text:
        return False  # past the end of the file (or no file): a definition is never a blank line
    claim = _KIND_CLAIM.search(note)
    if claim is None or text.startswith("@"):
        return True
    return text.startswith(claim["kind"] + " ")


def _own(code: str, record: Mapping[str, Any], read_line: LineReader) -> Verdict | None:
    """A finding the plugin emitted, read from the data its note carries (``carried.py``); a related
    location that does not hold what its note says is dropped. None when no note carries it."""
    carried = decode(record.get("hint") or "")
    if carried is None:
        return None
    related = [
        Related(path, line, col, note)
        for path, line, note, col in carried.related
        if _checked(path, line, note, read_line)
    ]
    return code, dict(carried.args), related


Verdict = tuple[str, dict[str, str], list[Related]]


def _coroutine_used_as_result(message: str) -> bool:
    """mypy's "maybe you forgot to use await" note on ``message``: a coroutine where its result was
    expected. Not when the value is a Task or Future (it runs anyway), nor when the context expects
    ``None`` or an ``Optional`` (mypy notes that a ``Task[None]`` stored in an attribute typed
    ``None`` would fit once awaited; storing the task is what the code means)."""
    for pattern in _MISMATCH:
        mismatch = pattern.search(message)
        if mismatch:
            return mismatch["value"].startswith("Coroutine[") and not has_none(mismatch["expected"])
    item = _UNION_ITEM.match(message)
    if item is not None and has_none(item["union"]):
        return False  # an Optional coroutine: the attribute fails on None too, the await is not the fix
    return bool(_COROUTINE_VALUE.search(message))  # "Coroutine[...]" has no attribute / is not indexable


def classify(
    record: Mapping[str, Any], read_line: LineReader, twins: frozenset[tuple[str, int, int]] = frozenset()
) -> Verdict | None:
    """``twins``: the sites where mypy suggested the other protocol's method (``maybe "__enter__"?``)."""
    site = (record.get("file", ""), record.get("line", 0), record.get("column", 0))
    slug = record.get("code") or ""
    message = record.get("message", "")
    hint = record.get("hint") or ""
    if slug in CODE_BY_SLUG:
        return _own(CODE_BY_SLUG[slug], record, read_line)
    expr = _span(record, read_line)
    awaited = _AWAIT.match(message)
    if awaited:
        typ, keyword = awaited["type"], awaited["kw"]
        declared_none = typ == "None" and keyword == "await" and _a_call(expr.removeprefix("await "))
        if not declared_none and not _certainly_not_awaitable(typ):
            return None
        if keyword == "await":
            return AG101.code, {"expr": expr.removeprefix("await ").strip(), **await_words(typ=typ)}, []
        if keyword == "async with":
            return AG103.code, entry_words(keyword="async with", expr=expr, typ=typ), []
        return AG104.code, entry_words(keyword="async for", expr=expr, typ=typ), []
    # AG102 means a *coroutine* never awaited: other unused awaitables (tasks, textual's AwaitMount,
    # objects that schedule work when created and may be awaited) are not that bug
    if slug == "unused-coroutine" or (slug == "unused-awaitable" and _COROUTINE_VALUE.search(message)):
        qualname, plain_def = _qualname(expr, record), _enclosing_def(record)
        return AG102.code, typed_args(use="statement", expr=expr, qualname=qualname, plain_def=plain_def), []
    # a Task or Future runs whether or not it is tested or awaited: only a coroutine is the bug
    if slug == "truthy-bool" and _COROUTINE_VALUE.search(message):
        qualname, plain_def = _qualname(expr, record), _enclosing_def(record)
        return AG102.code, typed_args(use="bool", expr=expr, qualname=qualname, plain_def=plain_def), []
    if slug == "unused-awaitable":
        return None  # a non-coroutine awaitable left unused (its "missing an await?" note included)
    if any(marker in hint for marker in MISSING_AWAIT_HINTS) and _coroutine_used_as_result(message):
        # the span may be the whole ``coro().attr`` or just the operand's first letter (``coro() + 1``)
        line = read_line(record["file"], record["line"])
        column = max(record.get("column", 0), 0)
        call = _call_at(line, column)
        attribute = _ATTRIBUTE.search(message)
        if not call and attribute and expr.endswith("." + attribute["attr"]):
            expr = expr[: -len(attribute["attr"]) - 1]  # ``value.attr``: the coroutine is ``value``
        expr = call or expr
        # ``await coro().attr`` awaits the attribute: a trailer needs the await in brackets
        trailer = line[column + len(expr) :].lstrip().startswith((".", "[", "("))
        qualname, plain_def = _qualname(expr, record), _enclosing_def(record)
        args = typed_args(use="result", expr=expr, qualname=qualname, plain_def=plain_def, trailer=trailer)
        return AG102.code, args, []
    attr = _NO_ATTR.match(message) if slug in ("attr-defined", "union-attr") else None
    if attr:
        return _protocol(attr["type"], attr["attr"], expr, bool(attr["twin"]) or site in twins)
    return None


def _protocol(typ: str, attr: str, expr: str, twin: bool) -> Verdict | None:
    """AG103/AG104 from a protocol method mypy found missing on ``typ``. ``None`` or an ``Optional``
    is not the async-protocol misuse (a lock created lazily is used once set), so it is left alone.
    ``twin``: mypy saw the other protocol's method, so the fix is known to work."""
    if has_none(typ):
        return None
    if attr in ("__aenter__", "__aexit__"):
        return _misuse(AG103.code, "async with", expr, typ, twin or typ.startswith(_SYNC_MANAGERS))
    if attr in ("__enter__", "__exit__") and _is_async_type(typ):
        return _misuse(AG103.code, "with", expr, typ, True)
    if attr in ("__aiter__", "__anext__"):
        if typ.startswith("Coroutine["):
            result = _split(typ[len("Coroutine[") : -1], ",")[-1]
            if not result.startswith(("AsyncIterator[", "AsyncIterable[", "AsyncGenerator[")):
                return None  # what the coroutine gives is unknown (``Any``): no fix can be offered
            return AG104.code, coroutine_iteration_words(expr=expr, typ=typ), []
        return _misuse(AG104.code, "async for", expr, typ, twin or typ.startswith(_SYNC_ITERABLES))
    if attr in ("__iter__", "__next__") and _is_async_type(typ):
        return _misuse(AG104.code, "for", expr, typ, True)
    return None


def _misuse(code: str, keyword: Form, expr: str, typ: str, sure: bool) -> Verdict:
    """AG103/AG104 from a missing protocol method: ``keyword`` was used where the other form works
    (``sure``), or may work."""
    return code, protocol_words(keyword=keyword, expr=expr, typ=typ, sure=sure), []


_CALLEE = re.compile(r"(?:await\s+)?[A-Za-z_][\w.]*\s*\(")


def _call_at(line: str, column: int) -> str:
    """The call expression that starts at ``column`` (``name.attr(...)`` with balanced brackets), or ''."""
    head = _CALLEE.match(line, column)
    if head is None or head.group().startswith("await"):
        return ""
    depth = 0
    quote = ""
    for index in range(head.end() - 1, len(line)):
        char = line[index]
        if quote:
            quote = "" if char == quote and line[index - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return line[column : index + 1]
    return ""


def _enclosing_def(record: Mapping[str, Any]) -> str:
    """The name of the innermost function holding the record's line when it is a plain ``def`` (where
    ``await`` is a syntax error), or '' (an ``async def``, module level, unknown)."""
    scope = innermost_scope(record.get("file", ""), record.get("line", 0))
    return scope.name if isinstance(scope, ast.FunctionDef) else ""


def _callee(expr: str) -> str:
    return expr.partition("(")[0].removeprefix("await ").strip() or expr


def _qualname(expr: str, record: Mapping[str, Any]) -> str:
    """The name CPython's never-awaited warning gives the coroutine (its function's ``__qualname__``)
    as far as the line shows it: ``self.flush(...)`` in class ``Queue`` is ``Queue.flush``,
    ``svc.fetch(...)`` is ``fetch``, ``Gateway().refresh()`` is ``Gateway.refresh``."""
    try:
        node = ast.parse(expr.removeprefix("await ").strip(), mode="eval").body
    except SyntaxError:
        return _callee(expr)
    func = node.func if isinstance(node, ast.Call) else node
    if isinstance(func, ast.Name):
        return func.id
    if not isinstance(func, ast.Attribute):
        return _callee(expr)
    receiver = func.value
    if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
        owner = enclosing_class(record.get("file", ""), record.get("line", 0))
        return f"{owner}.{func.attr}" if owner else func.attr
    if isinstance(receiver, ast.Call):  # `Gateway().refresh()`: a method of the class built there
        built = receiver.func
        name = built.attr if isinstance(built, ast.Attribute) else built.id if isinstance(built, ast.Name) else ""
        if name[:1].isupper():
            return f"{name}.{func.attr}"
    return func.attr


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


def _carried_col(record: Mapping[str, Any]) -> int:
    """The column a plugin finding carries (the ``await`` of an awaited call, as the scan reports it), or 0."""
    if record.get("code") not in CODE_BY_SLUG:
        return 0
    carried = decode(record.get("hint") or "")
    return carried.col if carried is not None else 0


def translate(
    records: Iterable[Mapping[str, Any]], read_line: LineReader, native: bool = True
) -> tuple[list[Finding], int]:
    """Findings, plus how many imports mypy could not resolve."""
    findings: list[Finding] = []
    unresolved = 0
    records = [code_points(raw, read_line, native) for raw in records]
    twins = frozenset(
        (record.get("file", ""), record.get("line", 0), record.get("column", 0))
        for record in records
        if (found := _NO_ATTR.match(record.get("message", ""))) and found["twin"]
    )
    for record in records:
        if record.get("severity") != "error":
            continue
        if record.get("code") in IMPORT_CODES:
            unresolved += 1
            continue
        if placed.reports(record):  # AG106: the scan's finding for the same construct, or none
            placement = placed.finding(record, read_line)
            findings += [placement] if placement is not None and AG106.code in CODES else []
            continue
        verdict = classify(record, read_line, twins)
        if verdict is None:
            continue
        code, args, related = verdict
        col = _carried_col(record) or max(record.get("column", 0), 0) + 1
        findings.append(Finding.make(record["file"], record["line"], col, code, args, related))
    return collapse(_unjudged(findings)), unresolved


def _unjudged(findings: list[Finding]) -> list[Finding]:
    """Without what mypy says of an ``await`` or an ``async with``/``async for`` that is a SyntaxError
    where it stands (AG106): as the scan, the hook does not judge what such a construct awaits or enters."""
    lines = {(f.path, f.line) for f in findings if f.code == AG106.code}
    awaits = {(f.path, f.line, f.col) for f in findings if f.code == AG106.code}
    return [
        f
        for f in findings
        if not (f.code in (AG103.code, AG104.code) and (f.path, f.line) in lines)
        and not (f.code == AG101.code and (f.path, f.line, f.col) in awaits)
    ]


__all__ = ["IMPORT_CODES", "classify", "code_points", "has_none", "members", "translate"]
