"""The wordings CPython 3.10-3.14 uses for async failures, each mapped to a kind and a rule code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from awaitguard.rules.awaits import AG101, AG103, AG104
from awaitguard.rules.awaits.handed import AG111
from awaitguard.rules.dropped import AG102


@dataclass(frozen=True)
class Kind:
    name: str  # "await-not-awaitable"
    rule: str  # the static rule that re-checks the site ("" when none can: nested event loops)
    construct: str  # what to look for on the source line: await, async-with, with, async-for, for, value, call, run


AWAIT = Kind("await-not-awaitable", AG101.code, "await")
DROPPED = Kind("coroutine-never-awaited", AG102.code, "call")
VALUE = Kind("coroutine-used-as-value", AG102.code, "value")
ASYNC_WITH = Kind("async-with-on-sync", AG103.code, "async-with")
WITH = Kind("with-on-async", AG103.code, "with")
ASYNC_FOR = Kind("async-for-on-sync", AG104.code, "async-for")
FOR = Kind("for-on-async", AG104.code, "for")
NESTED = Kind("nested-event-loop", "", "run")
HANDED = Kind("awaitable-expected", AG111.code, "handed")

# (exception type, message pattern, kind); the first match wins. ``{X}`` patterns are written out.
_TABLE: tuple[tuple[str, str, Kind], ...] = (
    # ≤ 3.13: object X can't be used in 'await' expression; 3.14: 'X' object can't be awaited
    ("TypeError", r"object \S+ can't be used in 'await' expression", AWAIT),
    ("TypeError", r"'[^']+' object can't be awaited", AWAIT),
    ("TypeError", r"__await__\(\) returned (?:a coroutine|non-iterator of type)", AWAIT),
    # 3.11+ (3.13+ adds "(missed __aexit__ method)", 3.14 adds a "Did you mean" hint)
    ("TypeError", r"'[^']+' object does not support the asynchronous context manager protocol", ASYNC_WITH),
    ("TypeError", r"'[^']+' object does not support the context manager protocol", WITH),
    # 3.10
    ("AttributeError", r"__aenter__|__aexit__", ASYNC_WITH),
    ("AttributeError", r"__enter__|__exit__", WITH),
    ("TypeError", r"'async for' requires an object with __aiter__ method, got \S+", ASYNC_FOR),
    ("TypeError", r"'async for' received an object from __aiter__ that does not implement __anext__", ASYNC_FOR),
    ("TypeError", r"'async for' requires an iterator with __anext__ method, got \S+", ASYNC_FOR),
    ("TypeError", r"'(?:async_generator|coroutine)' object is not iterable", FOR),
    ("TypeError", r"'coroutine' object is not (?:subscriptable|callable)", VALUE),
    ("TypeError", r"cannot unpack non-iterable coroutine object", VALUE),
    ("TypeError", r"unsupported operand type\(s\) for .+'coroutine'", VALUE),
    ("TypeError", r"not supported between instances of (?:'coroutine' and|.* and 'coroutine')", VALUE),
    ("TypeError", r"object of type 'coroutine' has no len\(\)", VALUE),
    ("TypeError", r"can only concatenate \w+ \(not \"coroutine\"\)", VALUE),
    ("TypeError", r"argument must be .*not 'coroutine'", VALUE),
    ("AttributeError", r"'coroutine' object has no attribute '\w+'", VALUE),
    # asyncio's functions handed what is not awaitable (create_task and a loop's; gather, ensure_future, shield,
    # wait_for up to 3.11; run; run_coroutine_threadsafe), the same words 3.10-3.13
    ("TypeError", r"^a coroutine was expected, got ", HANDED),
    ("ValueError", r"^a coroutine was expected, got ", HANDED),
    ("TypeError", r"^An asyncio\.Future, a coroutine or an awaitable is required", HANDED),
    ("TypeError", r"^A coroutine object is required", HANDED),
    ("RuntimeError", r"asyncio\.run\(\) cannot be called from a running event loop", NESTED),
    ("RuntimeError", r"This event loop is already running", NESTED),
    ("RuntimeError", r"Cannot run the event loop while another loop is running", NESTED),
    ("RuntimeWarning", r"coroutine '[^']+' was never awaited", DROPPED),
)
_COMPILED = tuple((t, re.compile(p), k) for t, p, k in _TABLE)

# "TypeError: message" at the end of a traceback (the type may be dotted: builtins.TypeError)
EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_][\w.]*\.)?(?P<type>[A-Z]\w*(?:Error|Warning|Exception))(?::\s?(?P<msg>.*))?$"
)
# path:line: RuntimeWarning: coroutine 'x' was never awaited (the warnings module's format)
WARNING_LINE = re.compile(
    r"(?P<path>(?:[A-Za-z]:)?[^\s:]+):(?P<line>\d+): RuntimeWarning: (?P<msg>coroutine '[^']+' was never awaited)"
)
NEVER_AWAITED = re.compile(r"coroutine '(?P<qualname>[^']+)' was never awaited")


def classify(exc_type: str, message: str) -> Kind | None:
    """The kind of an exception (its bare type name and message), or None when it is not an async failure."""
    for wanted, pattern, kind in _COMPILED:
        if exc_type == wanted and pattern.search(message):
            if wanted == "AttributeError" and kind in (ASYNC_WITH, WITH) and not pattern.fullmatch(message.strip()):
                continue  # 3.10's bare "AttributeError: __aenter__", never "... has no attribute '__aenter__x'"
            return kind
    return None


def never_awaited(message: str) -> str | None:
    """The coroutine's qualname in a never-awaited warning."""
    match = NEVER_AWAITED.search(message)
    return match.group("qualname") if match else None
