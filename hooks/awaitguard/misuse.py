"""What is wrong with awaiting, entering (`with`) or iterating (`for`) a value: answers as data.

Each answer is a ``Misuse``: a ``kind`` (one of the ``Literal`` names below) and the named fields its
wording needs (the callee's short name, a class or type name, what a method returns), or, for a
declared union every member of which fails, the first member's answer. The rule families
(``rules/awaits/``) decide the codes and word the messages; nothing here is a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Literal, TypeVar

from awaitguard.values import ITERABLE_BUILTINS, Value

# why `await value` fails (AG101's "what")
NotAwaitableKind = Literal[
    "union",  # a declared union, no member of it awaitable (name: its text)
    "instance-from-def",  # an instance (name) a plain def (callee) returns, its class without __await__
    "instance",  # an instance of a class (name) without __await__
    "many-from-def",  # a declared list/set/tuple (name) a plain def (callee) returns
    "many",  # a declared list/set/tuple (name)
    "result-of-def",  # the result of a plain def (callee) returning no awaitable
    "builtin",  # an instance of the builtin type name
    "property",  # a property (name: its qualified name) giving a plain value
    "result-of-call",  # the result of an external callable (name) known not to be awaitable
    "plain",  # a plain value
    "function",  # a function object (callee), not called
    "class",  # a class object (callee)
    "module",  # a module (name)
    "asyncgen",  # the async generator a function (callee) returns
    "gen",  # the generator a function (callee) returns
    "cm",  # the context manager a function (callee) returns
    "sync-iter",  # the iterator a function (callee) returns
]
# what to do instead of `await value` (AG101's "fix")
AwaitFixKind = Literal[
    "async-for",  # iterate the async generator (callee)
    "async-with",  # enter the async context manager (callee)
    "with",  # enter the context manager (callee)
    "call",  # call the function (callee)
    "sibling",  # await the async sibling (name) instead
    "make-async",  # remove `await`, or make the def (callee) async
    "remove",  # remove `await`
]
# why `with`/`async with` on the value fails (AG103)
ContextKind = Literal[
    "union",  # every member of the declared union (name) fails: ``first`` is the first member's answer
    "coroutine",  # a coroutine of an async def (callee), not awaited
    "sync-cm",  # a @contextmanager (callee) under `async with`
    "async-cm",  # an @asynccontextmanager (callee) under `with`
    "builtin",  # an instance of a builtin type (name), no context manager
    "class-object",  # the class (name) itself, its instances async context managers
    "class-object-not-cm",  # the class (name) itself, its instances no async context managers
    "neither",  # an instance of a class (name) with neither __aenter__ nor __enter__
    "no-aexit",  # a class (name) with __aenter__ but no __aexit__
    "plain-entry",  # a class (name) whose plain def method (method) returns got ("" when nothing awaitable)
    "sync-only",  # a class (name) with __enter__ but no __aenter__, under `async with`
    "async-only",  # a class (name) with __aenter__ but no __enter__, under `with`
]
# why `for`/`async for` over the value fails (AG104)
IterationKind = Literal[
    "union",  # every member of the declared union (name) fails: ``first`` is the first member's answer
    "coroutine",  # a coroutine (got) of an async def (callee), not awaited, under `async for`; its result async
    "coroutine-sync-result",  # the same, its awaited result a sync iterable
    "coroutine-result",  # the same, how its awaited result iterates not known
    "sync-builtin",  # an instance of an iterable builtin type (name) under `async for`
    "builtin",  # an instance of a builtin type (name) that does not iterate, under `async for`
    "class-object",  # the class (name) itself, its instances async iterables
    "class-object-not-iterable",  # the class (name) itself, its instances no async iterables
    "sync-result",  # the sync iterable (got) a function (callee) returns, under `async for`
    "sync-instance",  # an instance of a sync iterable class (got), under `async for`
    "not-iterable",  # an instance of a class (got) with neither __aiter__ nor __iter__
    "aiter-coroutine",  # a class (name) whose `async def __aiter__` returns a coroutine (got)
    "aiter-no-anext",  # a class (name) whose __aiter__ returns an instance (got) without __anext__
    "for-coroutine",  # a coroutine (got) of an async def (callee), not awaited, under `for`; its result sync
    "for-coroutine-async-result",  # the same, its awaited result an async iterable
    "for-coroutine-result",  # the same, how its awaited result iterates not known
    "asyncgen",  # the async generator (got) of an async def (callee), under `for`
    "async-instance",  # an instance of an async iterable class (got), under `for`
]
MisuseKind = NotAwaitableKind | AwaitFixKind | ContextKind | IterationKind
K = TypeVar("K", NotAwaitableKind, AwaitFixKind, ContextKind, IterationKind)


class Misuse(Generic[K]):
    """One answer: its kind (of one of the four questions) and the names its wording takes. A plain
    class: a dataclass cost about 4 M instructions to create at each start (docs/speed.md)."""

    __slots__ = ("callee", "first", "got", "kind", "method", "name")

    def __init__(
        self,
        kind: K,
        callee: str = "",
        name: str = "",
        got: str = "",
        method: str = "",
        first: Misuse[K] | None = None,  # a union's: the first member's answer
    ) -> None:
        self.kind: K = kind
        self.callee = callee
        self.name = name
        self.got = got
        self.method = method
        self.first: Misuse[K] | None = first


def not_awaitable(value: Value) -> Misuse[NotAwaitableKind] | None:
    """Why awaiting ``value`` fails, or None when it may not."""
    kind = value.kind
    resolver = value.resolver
    callee = value.callee()
    from_def = value.origin is not None and value.origin.defn is not None
    if kind == "union":
        return Misuse("union", name=value.name) if value.awaitable() is False else None
    if kind == "instance":
        if value.self_ref or resolver is None or value.defn is None:
            return None
        if value.awaitable() is not False:  # `__await__` in its class, or in a project subclass it may be
            return None
        name = value.defn.qualname
        if value.origin is not None and value.origin.defn is not None and value.origin.defn.kind == "function":
            return Misuse("instance-from-def", callee=callee, name=name)
        return Misuse("instance", name=name)
    if kind == "many" and value.name:
        return Misuse("many-from-def", callee=callee, name=value.name) if from_def else Misuse("many", name=value.name)
    if kind == "builtin":
        return Misuse("result-of-def", callee=callee) if from_def else Misuse("builtin", name=value.name)
    if kind == "plain":
        if value.via_property:
            return Misuse("property", name=value.qualname)
        if from_def:
            return Misuse("result-of-def", callee=callee)
        if value.origin is not None:
            return Misuse("result-of-call", name=value.origin.name)
        return Misuse("plain")
    if kind == "module":
        return Misuse("module", name=value.name)
    simple: dict[str, NotAwaitableKind] = {
        "function": "function",
        "class": "class",
        "asyncgen": "asyncgen",
        "gen": "gen",
        "sync-cm": "cm",
        "async-cm": "cm",
        "sync-iter": "sync-iter",
    }
    return Misuse(simple[kind], callee=callee) if kind in simple else None


def await_fix(value: Value) -> Misuse[AwaitFixKind]:
    """What to do instead of awaiting ``value``."""
    kind = value.kind
    callee = value.callee()
    direct: dict[str, AwaitFixKind] = {
        "asyncgen": "async-for",
        "async-cm": "async-with",
        "sync-cm": "with",
        "function": "call",
    }
    if kind in direct:
        return Misuse(direct[kind], callee=callee)
    sibling = value.resolver.async_sibling(value) if value.resolver is not None else None
    if sibling:
        return Misuse("sibling", name=sibling)
    return Misuse("make-async", callee=callee) if value.from_def() else Misuse("remove")


def _union(name: str, answers: Sequence[Misuse[Any] | None]) -> Misuse[Any] | None:
    """A declared union ``name`` fails only when every member does: the first member's answer."""
    if not answers or any(a is None for a in answers):
        return None
    return Misuse("union", name=name, first=answers[0])


def context_problem(value: Value, is_async: bool) -> Misuse[ContextKind] | None:
    """Why `async with value` (``is_async``) or `with value` fails, or None when it may not."""
    kind = value.kind
    if kind == "union":
        return _union(value.name, [context_problem(m, is_async) for m in value.members])
    callee = value.callee()
    if kind == "coroutine":
        return Misuse("coroutine", callee=callee)
    if is_async and kind == "sync-cm":
        return Misuse("sync-cm", callee=callee)
    if not is_async and kind == "async-cm":
        return Misuse("async-cm", callee=callee)
    resolver = value.resolver
    if not is_async:
        pass  # `with` on a value that is no context manager at all is not an async misuse
    elif kind == "builtin" or (kind == "many" and value.name):
        return Misuse("builtin", name=value.name)
    elif kind == "class" and not value.self_ref and resolver is not None and value.defn is not None:
        name = value.defn.qualname.rsplit(".", 1)[-1]
        has_aenter = resolver.class_has(value, "__aenter__")
        # every class of its MRO is known, none has a metaclass or a decorator that may add members
        if has_aenter is not None and resolver.plainly_built(value):
            return Misuse("class-object" if has_aenter else "class-object-not-cm", name=name)
    if kind == "instance" and not value.self_ref and resolver is not None and value.defn is not None:
        name = value.defn.qualname.rsplit(".", 1)[-1]
        has_enter = resolver.class_has(value, "__enter__")
        has_aenter = resolver.class_has(value, "__aenter__")
        if (
            is_async
            and has_aenter is False
            and has_enter is False
            and resolver.plainly_built(value)
            and not resolver.subclass_defines(value, ("__aenter__", "__enter__"))
        ):
            return Misuse("neither", name=name)
        if is_async and has_aenter is True and resolver.plainly_built(value):
            problem = _entry_exit_problem(value, name)
            if problem is not None:
                return problem
        if (
            is_async
            and has_aenter is False
            and has_enter is True
            and not resolver.subclass_defines(value, ("__aenter__",))
        ):
            return Misuse("sync-only", name=name)
        if (
            not is_async
            and has_enter is False
            and has_aenter is True
            and not resolver.subclass_defines(value, ("__enter__",))
        ):
            return Misuse("async-only", name=name)
    return None


def _entry_exit_problem(value: Value, name: str) -> Misuse[ContextKind] | None:
    """`async with` needs `__aexit__` too, and awaits what both return: a plain `def` returning what is known
    not to be awaitable fails (judged only when no subclass or subclass hook may decide it)."""
    resolver = value.resolver
    assert resolver is not None
    if value.lacks(("__aexit__",)):
        return Misuse("no-aexit", name=name)
    for method in ("__aenter__", "__aexit__"):
        result = resolver.method_result(value, method)
        if result.awaitable() is False and not result.overridable:
            if resolver.subclass_defines(value, (method,)):
                continue
            return Misuse("plain-entry", name=name, method=method, got=result.type_name() or result.name)
    return None


def _aiter_result(value: Value) -> Misuse[IterationKind] | None:
    """`async for` calls `__anext__` on what `__aiter__` returns: a coroutine (an `async def __aiter__`,
    as before Python 3.7) or an instance of a plainly built class without `__anext__` fails."""
    resolver = value.resolver
    if value.self_ref or resolver is None or resolver.class_has(value, "__aiter__") is not True:
        return None
    if not resolver.plainly_built(value) or resolver.subclass_defines(value, ("__aiter__",)):
        return None
    result = resolver.method_result(value, "__aiter__")
    coroutine = result.kind == "coroutine"
    if result.overridable or not (coroutine or (result.kind == "instance" and result.lacks(("__anext__",)))):
        return None
    return Misuse("aiter-coroutine" if coroutine else "aiter-no-anext", name=value.type_name(), got=result.type_name())


def _result_loop(coroutine: Value) -> Literal["async", "sync", ""]:
    """How the awaited result of ``coroutine`` iterates, when that is known: the loop a fix may suggest
    (`async for ... in await f()` only when the result is an async iterable)."""
    resolver = coroutine.resolver
    if resolver is None:
        return ""
    result = resolver.awaited(coroutine)
    kind = result.kind
    if kind == "asyncgen":
        return "async"
    if kind in ("gen", "sync-iter") or (kind in ("builtin", "many") and result.name in ITERABLE_BUILTINS):
        return "sync"
    if kind == "instance" and not result.self_ref and result.resolver is not None:
        has_aiter = result.resolver.class_has(result, "__aiter__")
        if has_aiter is True:
            return "async"
        if has_aiter is False and result.resolver.class_has(result, "__iter__"):
            return "sync"
    return ""


def iteration_problem(value: Value, is_async: bool) -> Misuse[IterationKind] | None:
    """Why `async for ... in value` (``is_async``) or `for ... in value` fails, or None when it may not."""
    kind = value.kind
    if kind == "union":
        return _union(value.name, [iteration_problem(m, is_async) for m in value.members])
    callee = value.callee()
    resolver = value.resolver
    if not is_async:
        if kind in ("asyncgen", "coroutine") or (kind == "instance" and value.only(("__aiter__",), "__iter__")):
            got = value.type_name()
            if kind == "instance":
                return Misuse("async-instance", got=got)
            if kind == "asyncgen":
                return Misuse("asyncgen", callee=callee, got=got)
            loop = _result_loop(value)
            for_kind: IterationKind = "for-coroutine" if loop == "sync" else "for-coroutine-result"
            return Misuse("for-coroutine-async-result" if loop == "async" else for_kind, callee=callee, got=got)
        return None
    if kind == "coroutine":
        loop = _result_loop(value)
        async_kind: IterationKind = "coroutine" if loop == "async" else "coroutine-result"
        return Misuse("coroutine-sync-result" if loop == "sync" else async_kind, callee=callee, got="coroutine")
    if kind == "builtin" or (kind == "many" and value.name):
        return Misuse("sync-builtin" if value.name in ITERABLE_BUILTINS else "builtin", name=value.name)
    if kind == "class" and not value.self_ref and value.defn is not None and resolver is not None:
        # the class object itself: only a metaclass could make it async-iterable (`class_has` is None then)
        if resolver.class_has(value, "__aiter__") is not None and resolver.plainly_built(value):
            has_aiter = resolver.class_has(value, "__aiter__")
            return Misuse("class-object" if has_aiter else "class-object-not-iterable", name=callee)
        return None
    if kind in ("gen", "sync-iter") or (kind == "instance" and value.only(("__iter__", "__getitem__"), "__aiter__")):
        got = value.type_name()
        return Misuse("sync-instance", got=got) if kind == "instance" else Misuse("sync-result", callee=callee, got=got)
    if kind == "instance" and value.lacks(("__aiter__", "__iter__", "__getitem__")):
        return Misuse("not-iterable", got=value.type_name())
    return _aiter_result(value) if kind == "instance" else None


__all__ = [
    "AwaitFixKind",
    "ContextKind",
    "IterationKind",
    "Misuse",
    "MisuseKind",
    "NotAwaitableKind",
    "await_fix",
    "context_problem",
    "iteration_problem",
    "not_awaitable",
]
