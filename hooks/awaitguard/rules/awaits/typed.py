"""AG101/AG103/AG104 worded from what mypy says: a value's type as mypy prints it, and the form used.

``awaitguard.mypy_plugin.translate`` reads mypy's errors and decides which are async misuse; these
functions give each finding's arguments for the family's templates (``rules.awaits``). A type is all
mypy knows, so where the fix rests on it, the fix says so.
"""

from __future__ import annotations

from typing import Literal

# the runtime error of each form on a value of type ``{type}``
_ERRORS = {
    "async with": "TypeError (\"'{type}' object does not support the asynchronous context manager protocol\")",
    "with": "TypeError (\"'{type}' object does not support the context manager protocol\")",
    "async for": "TypeError (\"'async for' requires an object with __aiter__ method, got {type}\")",
    "for": "TypeError (\"'{type}' object is not iterable\")",
}
Form = Literal["async with", "with", "async for", "for"]
# a form used on a value lacking its protocol: what the value is when the other form is known to work,
# what it is when that is not known, the other form, and the protocol the other form needs
_PROTOCOL: dict[Form, tuple[str, str, str, str]] = {
    "async with": ("a sync context manager", "not an async context manager", "with", "context manager"),
    "with": ("an async context manager", "", "async with", ""),
    "async for": ("a sync iterable", "not an async iterable", "for ... in", "iterable"),
    "for": ("an async iterable", "", "async for ... in", ""),
}


def await_words(*, typ: str) -> dict[str, str]:
    """AG101's ``what`` and ``fix`` for awaiting a value of type ``typ``, which has no ``__await__``."""
    # when the types are wrong (a client annotated as the sync one), dropping the `await` would
    # break working code: the fix says what it rests on
    fix = (
        f"if the value really is `{typ}`, drop the `await` or call an `async def` variant; "
        "if it is awaitable at run time, correct the annotation that says it is not"
    )
    return {"what": f"a value of type `{typ}`", "fix": fix}


def entry_words(*, keyword: Literal["async with", "async for"], expr: str, typ: str) -> dict[str, str]:
    """AG103's (``async with``) or AG104's (``async for``) arguments when ``__aenter__`` or ``__anext__``
    returns ``typ``, which is not awaitable."""
    if keyword == "async with":
        what, fix = "`__aenter__`", "make `__aenter__`/`__aexit__` `async def`, or use `with`"
    else:
        what, fix = "`__anext__`", "make `__anext__` an `async def`, or use `for`"
    error = "TypeError (object can't be used in 'await' expression)"
    return {"keyword": keyword, "expr": expr, "what": f"`{typ}` from {what}", "error": error, "fix": fix}


def protocol_words(*, keyword: Form, expr: str, typ: str, sure: bool) -> dict[str, str]:
    """AG103's or AG104's arguments when ``keyword`` is used on a value of type ``typ`` that lacks the
    form's protocol methods: the other form works (``sure``), or may work: then the fix says what it
    depends on."""
    when_sure, unsure, instead, protocol = _PROTOCOL[keyword]
    fix = f"write `{instead} {expr}`"
    if not sure:
        fix = f"if `{typ}` is a sync {protocol}, {fix}; otherwise pass an object that supports `{keyword}`"
    what = f"`{typ}`, {when_sure if sure else unsure}"
    return {"keyword": keyword, "expr": expr, "what": what, "error": _ERRORS[keyword].format(type=typ), "fix": fix}


def coroutine_iteration_words(*, expr: str, typ: str) -> dict[str, str]:
    """AG104's arguments for ``async for`` over a coroutine of type ``typ`` whose result is an async iterator."""
    what = f"`{typ}`, a coroutine, not an async iterator"
    error = _ERRORS["async for"].format(type=typ)
    return {
        "keyword": "async for",
        "expr": expr,
        "what": what,
        "error": error,
        "fix": f"write `async for ... in await {expr}`",
    }
