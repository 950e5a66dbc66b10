"""AG101 await of a non-awaitable, AG103 async with/with mismatch, AG104 async for/for mismatch, AG111 a
non-awaitable handed to asyncio (``handed``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from awaitguard.findings import Finding
from awaitguard.misuse import (
    AwaitFixKind,
    ContextKind,
    IterationKind,
    Misuse,
    NotAwaitableKind,
    await_fix,
    context_problem,
    iteration_problem,
    not_awaitable,
)
from awaitguard.model import ModuleFacts, Ref, Site, is_call
from awaitguard.rules._base import RuleMeta, finding
from awaitguard.rules.awaits import handed
from awaitguard.rules.awaits.handed import AG111

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver
    from awaitguard.values import Value

AG101 = RuleMeta(
    code="AG101",
    slug="await-not-awaitable",
    template="`await {expr}` awaits {what}; at runtime this raises TypeError (\"can't be used in 'await' expression\")",
    fix="{fix}",
    summary="`await` on a value that is never awaitable, such as a plain `def`'s result",
    hooks=("scan", "mypy"),
    doc="""\
**What it does**

Finds `await` applied to a value that is never awaitable: the result of a plain `def` whose body
returns no awaitable, an instance of a class without `__await__`, a property, a function object
that was not called, a module, an async generator, a value declared with a builtin type
(`n: int`, `rows: list[int]`, `Optional[str]` after its `None` check) or a literal (`await 1`).

**Why is this bad?**

The line raises the moment it runs, typically on the first request that reaches it:
`TypeError: object Manager can't be used in 'await' expression` (CPython 3.13 and older) or
`TypeError: 'Manager' object can't be awaited` (3.14+). Tests that patch the callee with
`AsyncMock` stay green, and mypy is silent when the caller or the callee is unannotated.

**Example**

```python
def get_manager():
    return {"mode": "prod"}


async def handler():
    return await get_manager()
```

**Use instead**

```python
def get_manager():
    return {"mode": "prod"}


async def handler():
    return get_manager()
```

**Known problems**

Callees the scanner cannot resolve (unannotated parameters, untyped third-party objects, values from
unknown decorators) are never reported, unless the project's `[tool.awaitguard.policy]` lists a
definition of the callee's name under `sync`, or, in a commit's scan, the commit made the callee a plain
`def` and every call the project makes of the parameter's function passes an instance of its class.
Neither are values declared with a `Protocol` that does not declare
`__await__`, a `TypeVar` without a bound, a union with a member that may be awaitable, a class with an unknown
base, or a class a project subclass gives `__await__` (the value may be an instance of it). A `def`
that returns the result of an unknown call is treated as possibly awaitable, and one whose result
comes from a method called through `self` is not reported when the project defines an `async def` of
that method's name (a subclass may override it).
""",
)

AG103 = RuleMeta(
    code="AG103",
    slug="context-manager-mismatch",
    template="`{keyword} {expr}` uses {what}; at runtime this raises {error}",
    fix="{fix}",
    summary="`async with` on a sync context manager, or `with` on an async one",
    hooks=("scan", "mypy"),
    doc="""\
**What it does**

Finds `async with` on a context manager that only implements `__enter__`/`__exit__` (a class, or
a `@contextlib.contextmanager` function), and `with` on one that only implements
`__aenter__`/`__aexit__` (a class, or an `@contextlib.asynccontextmanager` function), and either
form on a coroutine that was not awaited. `async with` on what is no context manager at all is
found too: an instance of a class with neither `__aenter__` nor `__enter__` (or with `__aenter__`
but no `__aexit__`, or whose `__aenter__`/`__aexit__` is a plain `def` returning what is known not
to be awaitable), a class object
(`async with Session:`), a value declared with a builtin type (`count: int`) or a literal.

**Why is this bad?**

It fails when the block is entered: `TypeError: 'X' object does not support the asynchronous
context manager protocol` (3.11+; `AttributeError: __aenter__` on 3.10), or
`TypeError: 'X' object does not support the context manager protocol`.

**Example**

```python
import contextlib


@contextlib.contextmanager
def session():
    yield "s"


async def handler():
    async with session() as s:
        return s
```

**Use instead**

```python
import contextlib


@contextlib.contextmanager
def session():
    yield "s"


async def handler():
    with session() as s:
        return s
```

**Known problems**

Values the scanner cannot resolve (unannotated parameters, objects from libraries that are not
installed, results of unknown decorators or calls) are never reported, nor are values declared
with a `Protocol` that does not declare `__aenter__` or `__enter__`, a `TypeVar` without a bound, or a union with
a member that may fit. The "no context manager at all" and "class object" forms stay silent for a
class with an unknown base or a metaclass, or with a class decorator other than `@dataclass`,
`@final` and `@total_ordering` (a decorator may add `__aenter__`). A plain `with` on something
that is no context manager at all is not reported: it is a type error, not an async misuse.
Anything inside `with pytest.raises(...)` is taken as a deliberate test of the failure. Standard
library types are named as typeshed names them: `threading.Lock()` is `LockType` in the message,
but `_thread.lock` in the runtime error.
""",
)

AG104 = RuleMeta(
    code="AG104",
    slug="iterator-mismatch",
    template="`{keyword} ... in {expr}` iterates {what}; at runtime this raises {error}",
    fix="{fix}",
    summary="`async for` over a sync iterable, or `for` over an async one",
    hooks=("scan", "mypy"),
    doc="""\
**What it does**

Finds `async for` over a value that is only a sync iterable (a generator, a list, a class with
`__iter__` but no `__aiter__`, a value declared `list[int]`/`dict[str, X]`/`str`, a literal or
display such as `[1, 2]`) or not iterable at all (a declared `int`, an instance of a class with
neither `__aiter__` nor `__iter__`, a class object such as `async for row in Rows:`), or whose
`__aiter__` returns a coroutine (an `async def __aiter__`) or an object without `__anext__`, `for` over
an async generator or an async iterator, and either form (or a comprehension) over a coroutine
that was not awaited. Those coroutines are never reported
as AG102 as well: one line, one code.

**Why is this bad?**

It fails when the loop starts: `TypeError: 'async for' requires an object with __aiter__ method,
got generator` (or `got coroutine`), or `TypeError: 'async_generator' object is not iterable`
(`'coroutine' object is not iterable`).

**Example**

```python
from collections.abc import AsyncIterator


async def rows() -> AsyncIterator[int]:
    yield 1


def total() -> int:
    count = 0
    for _ in rows():
        count += 1
    return count
```

**Use instead**

```python
from collections.abc import AsyncIterator


async def rows() -> AsyncIterator[int]:
    yield 1


async def total() -> int:
    count = 0
    async for _ in rows():
        count += 1
    return count
```

**Known problems**

Values declared `Iterable[...]`, `Sequence[...]`, `Any`, a `TypeVar` without a bound, or a `Protocol` that
declares neither `__aiter__` nor `__iter__` are never reported, since they may be either kind.
Neither are values the scanner cannot resolve (unannotated parameters, libraries that are not
installed), nor the targets of an `async for` (`async for conn in pool:`, then `for x in conn`).
A plain `for` over something not iterable at all (a declared `int`) is not reported: it is a type
error, not an async misuse. Loops inside `with pytest.raises(...)` are taken as deliberate tests
of the failure.
""",
)

META = (AG101, AG103, AG104, AG111)
KINDS = frozenset({"await", "with", "async-with", "for", "async-for", "await-arg"})


def check(resolver: Resolver, facts: ModuleFacts, site: Site) -> Iterator[Finding]:
    if site.kind == "await-arg":  # AG111: what an `await` of the value would say, where asyncio needs one
        yield from handed.check(resolver, facts, site, await_words)
        return
    if site.guarded or site.expects_error:
        return
    value = resolver.value(facts, site.scope, site.ref)
    if value.kind == "unknown" and (  # few: by-name filtered, or a call of a flipped definition (``through_callers``)
        site.kind in ("with", "for") or (site.kind == "await" and called_name(site.ref) in resolver.callers_for)
    ):
        value = resolver.through_callers().value(facts, site.scope, site.ref)
    if site.kind == "await":
        found = list(_await(resolver, facts, site, value))
    elif site.kind in ("with", "async-with"):
        found = list(_with(resolver, facts, site, value))
    else:
        found = list(_for(resolver, facts, site, value))
    if found and value.overridable and resolver.defined_async(value.overridable):
        return  # `return self.send(...)` where some class defines `async def send`: a subclass may decide
    yield from found


def called_name(ref: Ref) -> str:
    """The name a reference calls last (`x.name(...)`, `name(...)`, whatever the arguments), else ""."""
    if len(ref) < 2 or not is_call(ref[-1]):
        return ""
    step = ref[-2]
    return step[1:] if step.startswith(".") else step[2:] if step.startswith("n:") else ""


def _await(resolver: Resolver, facts: ModuleFacts, site: Site, value: Value) -> Iterator[Finding]:
    words = await_words(value)
    if words is None:
        return
    yield finding(resolver, facts, site, AG101, value, **words, declared=_declared(value, "sync"))


def await_words(value: Value, qualname: str = "") -> dict[str, str] | None:
    """AG101's ``what`` and ``fix`` for awaiting ``value``, the scan's and the mypy plugin's. None when awaiting
    it may work, unless ``qualname`` names the plain ``def`` whose result it is (the mypy plugin's callee)."""
    reason = not_awaitable(value)
    if reason is not None:
        what = _NOT_AWAITABLE[reason.kind].format(**_fields(reason))
    elif qualname:
        what = f"the result of `{qualname}()`"
    else:
        return None
    return {"what": what, "fix": _await_fix(value)}


def _await_fix(value: Value) -> str:
    fix = await_fix(value)
    return _AWAIT_FIX[fix.kind].format(**_fields(fix))


def _declared(value: Value, kind: str) -> str:
    """The note at the policy line a value was taken from (`sync = [...]` in pyproject.toml)."""
    return f"`{value.name.rsplit('.', 1)[-1]}` is declared `{kind}` here (`{value.name}`)" if value.name else ""


def _with(resolver: Resolver, facts: ModuleFacts, site: Site, value: Value) -> Iterator[Finding]:
    is_async = site.kind == "async-with"
    problem = context_problem(value, is_async)
    if problem is None:
        return
    what, error, fix = _words(_CONTEXT, problem, is_async)
    keyword = "async with" if is_async else "with"
    yield finding(resolver, facts, site, AG103, value, keyword=keyword, what=what, error=error, fix=fix)


def _for(resolver: Resolver, facts: ModuleFacts, site: Site, value: Value) -> Iterator[Finding]:
    is_async = site.kind == "async-for"
    problem = iteration_problem(value, is_async)
    if problem is None:
        return
    if not is_async and not resolver.scope_is_async(facts, site.scope) and resolver.rewritten_to_sync(value):
        return  # a sync-or-async API (`syncify`): its async generator method gives a sync iterator in sync code
    what, error, fix = _words(_ITERATION, problem, is_async)
    keyword = "async for" if is_async else "for"
    yield finding(resolver, facts, site, AG104, value, keyword=keyword, what=what, error=error, fix=fix)


# -- wording: the core's answers (``awaitguard.misuse``) as what / runtime error / fix -----------------
def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _fields(misuse: Misuse[Any]) -> dict[str, str]:
    fields = {"callee": misuse.callee, "name": misuse.name, "got": misuse.got, "method": misuse.method}
    fields["a_name"] = f"{_article(misuse.name)} `{misuse.name}`"
    fields["a_got"] = f"{_article(misuse.got)} `{misuse.got}`" if misuse.got else "no awaitable"
    return fields


def _words(table: Mapping[Any, tuple[str, str, str]], misuse: Misuse[Any], is_async: bool) -> tuple[str, str, str]:
    """What is used, the runtime error and the fix for an AG103/AG104 answer (a union's: its first member's, in
    the union's words)."""
    if misuse.first is not None:
        what, error, fix = _words(table, misuse.first, is_async)
        return (f"a value declared `{misuse.name}` (each member fails; the first: {what})", error, fix)
    fields = _fields(misuse)
    fields["keyword"] = "async with" if is_async else "with"
    fields["protocol"] = "asynchronous context manager" if is_async else "context manager"
    what, error, fix = table[misuse.kind]
    return (what.format(**fields), error.format(**fields), fix.format(**fields))


_NOT_AWAITABLE: dict[NotAwaitableKind, str] = {
    "union": "a value declared `{name}`, and no member of it is awaitable",
    "instance-from-def": "an instance of `{name}` returned by plain `def {callee}`, and `{name}` has no `__await__`",
    "instance": "an instance of `{name}`, which has no `__await__`",
    "many-from-def": "the `{name}` returned by `{callee}()`, a plain `def`",
    "many": "a `{name}`",
    "result-of-def": "the result of `{callee}()`, a plain `def` that returns no awaitable",
    "builtin": "{a_name}",
    "property": "the property `{name}`, a plain value",
    "result-of-call": "the result of `{name}()`, which is not awaitable",
    "plain": "a plain value",
    "function": "the function `{callee}` itself (it is never called)",
    "class": "the class `{callee}` itself",
    "module": "the module `{name}`",
    "asyncgen": "the async generator returned by `{callee}()`",
    "gen": "the generator returned by `{callee}()`",
    "cm": "the context manager returned by `{callee}()`",
    "sync-iter": "the iterator returned by `{callee}()`",
}
_AWAIT_FIX: dict[AwaitFixKind, str] = {
    "async-for": "iterate it with `async for ... in {callee}(...)` instead of awaiting it",
    "async-with": "use `async with {callee}(...)` instead of awaiting it",
    "with": "use `with {callee}(...)` instead of awaiting it",
    "call": "call it: `await {callee}(...)`",
    "sibling": "use `await {name}(...)`, or remove `await`",
    "make-async": "remove `await`, or make `{callee}` an `async def`",
    "remove": "remove `await`",
}
_NO_CM = "`async with` needs an object with `__aenter__`/`__aexit__`"
_NO_ACM = "TypeError: '{name}' object does not support the asynchronous context manager protocol"
_TYPE_CM = "TypeError: 'type' object does not support the asynchronous context manager protocol"
_CLASS = "the class `{name}` itself, not an instance"
_ASYNC_ONLY = "use `async with` inside an `async def`"
_CONTEXT: dict[ContextKind, tuple[str, str, str]] = {
    "coroutine": (
        "the coroutine returned by `async def {callee}` without awaiting it",
        "TypeError: 'coroutine' object does not support the {protocol} protocol",
        "await it first: `{keyword} await {callee}(...)`",
    ),
    "sync-cm": (
        "`{callee}`, a `@contextmanager` (sync only)",
        "TypeError: '_GeneratorContextManager' object does not support the asynchronous context manager protocol",
        "use `with`, or make it an `@asynccontextmanager` over an `async def`",
    ),
    "async-cm": (
        "`{callee}`, an `@asynccontextmanager` (async only)",
        "TypeError: '_AsyncGeneratorContextManager' object does not support the context manager protocol",
        _ASYNC_ONLY,
    ),
    "builtin": ("{a_name}, which is not a context manager", _NO_ACM, _NO_CM),
    "class-object": (_CLASS, _TYPE_CM, "enter an instance: `async with {name}(...)`"),
    "class-object-not-cm": (_CLASS, _TYPE_CM, _NO_CM),
    "neither": ("`{name}`, which has neither `__aenter__` nor `__enter__`", _NO_ACM, _NO_CM),
    "no-aexit": (
        "`{name}`, which has `__aenter__` but no `__aexit__`",
        _NO_ACM + " (missed __aexit__ method)",
        "add an `async def __aexit__(self, *exc)`",
    ),
    "plain-entry": (
        "`{name}`, whose plain `def {method}` returns {a_got}",
        "TypeError: 'async with' received an object from {method} that does not implement __await__",
        "make `{method}` an `async def`",
    ),
    "sync-only": (
        "`{name}`, which has `__enter__` but no `__aenter__`",
        _NO_ACM,
        "use `with`, or add `__aenter__`/`__aexit__`",
    ),
    "async-only": (
        "`{name}`, which has `__aenter__` but no `__enter__`",
        "TypeError: '{name}' object does not support the context manager protocol",
        _ASYNC_ONLY,
    ),
}
_NO_AITER = "TypeError: 'async for' requires an object with __aiter__ method, got {got}"
_NO_AITER_NAME = _NO_AITER.replace("{got}", "{name}")
_NO_AITER_TYPE = _NO_AITER.replace("{got}", "type")
_NO_ANEXT = "TypeError: 'async for' received an object from __aiter__ that does not implement __anext__: {got}"
_SYNC_FIX = "use `for`, or make it an async generator (`async def` with `yield`)"
_NOT_ITERABLE = "TypeError: '{got}' object is not iterable"
_ASYNC_FOR_ONLY = "use `async for` inside an `async def`"
_UNAWAITED = "the coroutine returned by `{callee}(...)` (not awaited)"
# how the awaited result iterates is not known: which loop it needs is not suggested
_AWAIT_FIRST = "iterate its result, `await {callee}(...)`, with the loop that result takes (`for` or `async for`)"
_ITERATION: dict[IterationKind, tuple[str, str, str]] = {
    "coroutine": (_UNAWAITED, _NO_AITER, "write `async for ... in await {callee}(...)`"),
    "coroutine-sync-result": (_UNAWAITED, _NO_AITER, "write `for ... in await {callee}(...)`"),
    "coroutine-result": (_UNAWAITED, _NO_AITER, _AWAIT_FIRST),
    "sync-builtin": ("{a_name}, a sync iterable", _NO_AITER_NAME, "use `for`"),
    "builtin": ("{a_name}", _NO_AITER_NAME, "{a_name} is not iterable: `async for` needs an async iterable"),
    "class-object": (_CLASS, _NO_AITER_TYPE, "iterate an instance: `async for ... in {name}(...)`"),
    "class-object-not-iterable": (_CLASS, _NO_AITER_TYPE, "`async for` needs an async iterable"),
    "sync-result": ("the sync iterable returned by `{callee}`", _NO_AITER, _SYNC_FIX),
    "sync-instance": ("`{got}`, a sync iterable", _NO_AITER, _SYNC_FIX),
    "not-iterable": (
        "`{got}`, which has neither `__aiter__` nor `__iter__`",
        _NO_AITER,
        "`async for` needs an object whose `__aiter__` returns an async iterator",
    ),
    "aiter-coroutine": (
        "`{name}`, whose `__aiter__` returns a coroutine (an `async def __aiter__`)",
        _NO_ANEXT,
        "make `__aiter__` a plain `def`",
    ),
    "aiter-no-anext": (
        "`{name}`, whose `__aiter__` returns `{got}`, which has no `__anext__`",
        _NO_ANEXT,
        "give `{got}` an `async def __anext__`",
    ),
    # `for` (sync) over an async iterable
    "for-coroutine": (_UNAWAITED, _NOT_ITERABLE, "write `for ... in await {callee}(...)`"),
    "for-coroutine-async-result": (_UNAWAITED, _NOT_ITERABLE, "write `async for ... in await {callee}(...)`"),
    "for-coroutine-result": (_UNAWAITED, _NOT_ITERABLE, _AWAIT_FIRST),
    "asyncgen": ("the async generator returned by `async def {callee}`", _NOT_ITERABLE, _ASYNC_FOR_ONLY),
    "async-instance": ("`{got}`, an async iterable", _NOT_ITERABLE, _ASYNC_FOR_ONLY),
}
