"""What an expression evaluates to (``Value``) and what that means for each rule, in words.

The resolver computes values; the few questions a value cannot answer alone (does its class
define a member? is there an async sibling?) go back to it through ``Oracle``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from awaitguard.model import DefFact


class Oracle(Protocol):
    """The part of the resolver a value asks about its class and siblings."""

    def class_has(self, value: Value, member: str) -> bool | None: ...

    def async_sibling(self, value: Value) -> str | None: ...

    def defined_async(self, names: tuple[str, ...]) -> bool: ...

    def plainly_built(self, value: Value) -> bool: ...

    def method_result(self, value: Value, member: str) -> Value: ...

    def subclass_defines(self, value: Value, names: tuple[str, ...]) -> bool: ...


# bases from `typing`/`collections.abc`/`contextlib` (each spelling), and the members each gives a class
# deriving from it: its abstract methods and its mixins (typeshed's `typing.pyi` declares them as protocols
# or over special forms, which say nothing about a subclass's members)
_ABC_MEMBERS: dict[str, frozenset[str]] = {
    name: frozenset(members.split())
    for name, members in {
        "Hashable": "__hash__",
        "Sized": "__len__",
        "Container": "__contains__",
        "Iterable": "__iter__",
        "Iterator": "__iter__ __next__",
        "Reversible": "__iter__ __reversed__",
        "Generator": "__iter__ __next__ send throw close",
        "Collection": "__iter__ __len__ __contains__",
        "Sequence": "__getitem__ __len__ __contains__ __iter__ __reversed__ index count",
        "MutableSequence": "__getitem__ __len__ __contains__ __iter__ __reversed__ index count __setitem__ "
        "__delitem__ insert append reverse extend pop remove __iadd__",
        "AbstractSet": "__contains__ __iter__ __len__ __le__ __lt__ __eq__ __ne__ __gt__ __ge__ __and__ __or__ "
        "__sub__ __xor__ isdisjoint",
        "MutableSet": "__contains__ __iter__ __len__ __le__ __lt__ __eq__ __ne__ __gt__ __ge__ __and__ __or__ "
        "__sub__ __xor__ isdisjoint add discard clear pop remove __ior__ __iand__ __ixor__ __isub__",
        "Mapping": "__getitem__ __iter__ __len__ __contains__ keys items values get __eq__ __ne__",
        "MutableMapping": "__getitem__ __iter__ __len__ __contains__ keys items values get __eq__ __ne__ "
        "__setitem__ __delitem__ pop popitem clear update setdefault",
        "Awaitable": "__await__",
        "Coroutine": "__await__ send throw close",
        "AsyncIterable": "__aiter__",
        "AsyncIterator": "__aiter__ __anext__",
        "AsyncGenerator": "__aiter__ __anext__ asend athrow aclose",
        "Callable": "__call__",
        "ContextManager": "__enter__ __exit__",
        "AsyncContextManager": "__aenter__ __aexit__",
    }.items()
}
ABC_BASES: dict[str, frozenset[str]] = {
    **{
        f"{module}.{name}": members
        for module in ("typing", "typing_extensions", "collections.abc")
        for name, members in _ABC_MEMBERS.items()
    },
    "collections.abc.Set": _ABC_MEMBERS["AbstractSet"],
    "contextlib.AbstractContextManager": _ABC_MEMBERS["ContextManager"],
    "contextlib.AbstractAsyncContextManager": _ABC_MEMBERS["AsyncContextManager"],
}

# builtin types whose instances iterate (synchronously): `async for` over one wants `for`
ITERABLE_BUILTINS = frozenset({"str", "bytes", "bytearray", "list", "dict", "set", "frozenset", "tuple"})
_NOT_AWAITABLE_KINDS = frozenset(
    {
        "plain",
        "builtin",
        "function",
        "class",
        "module",
        "gen",
        "asyncgen",
        "sync-cm",
        "async-cm",
        "syncmock-class",
        "asyncmock-class",
        "syncmock",
        "asyncmock",
    }
)


@dataclass(frozen=True)
class Value:
    """What an expression evaluates to, as far as awaitability goes."""

    kind: str  # unknown|module|function|class|instance|coroutine|awaitable|plain|gen|asyncgen|sync-cm|
    # async-cm|sync-iter|external|asyncmock|syncmock|asyncmock-class|syncmock-class|lambda|
    # builtin (an instance of the builtin type ``name``: a declared `int`, a literal `[1, 2]`)
    module: str = ""
    path: str = ""
    defn: DefFact | None = None
    name: str = ""  # external dotted name, or a module name
    origin: Value | None = field(default=None, compare=False)  # the callable whose result this is
    via_property: bool = False
    self_ref: bool = False  # reached through `self`/`cls`/`super()`: subclasses may override
    # methods called through `self` that this result comes from: a subclass may override them as `async def`
    overridable: tuple[str, ...] = field(default=(), compare=False)
    resolver: Oracle | None = field(default=None, compare=False, repr=False)
    # a declared union (``name`` its text): its members; a declared `Callable[..., R]`: R, what calling it gives
    members: tuple[Value, ...] = ()
    # taken from a `sync`/`async` declaration of the project's policy: (its file, its line)
    declared_at: tuple[str, int] | None = field(default=None, compare=False)

    # -- identity, for messages ------------------------------------------------------------
    @property
    def qualname(self) -> str:
        source = self.origin if self.origin is not None and self.kind != "function" else self
        if source.defn is not None:
            return source.defn.qualname
        return source.name

    @property
    def defined_at(self) -> str:
        source = self._def_source()
        if source is None or source.defn is None:
            return ""
        return f"{source.path}:{source.defn.line}"

    def _def_source(self) -> Value | None:
        if self.kind in ("function", "class", "instance") and self.defn is not None:
            if self.kind == "instance" and self.origin is not None and self.origin.defn is not None:
                return self.origin
            return self
        if self.origin is not None and self.origin.defn is not None:
            return self.origin
        return None

    def related(self) -> list[tuple[str, int, int, str]]:
        source = self._def_source()
        if source is None or source.defn is None or source.path.startswith("<"):
            return []
        defn = source.defn
        short = defn.qualname.rsplit(".", 1)[-1]
        if defn.kind == "class":
            note = f"`{short}` is a class here"
        else:
            prefix = "async def" if defn.is_async else "def"
            note = f"`{short}` is `{prefix}` here"
        return [(source.path, defn.line, defn.col, note)]

    # -- verdicts --------------------------------------------------------------------------
    def _callee(self) -> str:
        source = self._def_source()
        if source is not None and source.defn is not None:
            return source.defn.qualname.rsplit(".", 1)[-1]
        return self.name.rsplit(".", 1)[-1] if self.name else "it"

    def not_awaitable_reason(self) -> str | None:
        kind = self.kind
        if kind == "union":
            return (
                f"a value declared `{self.name}`, and no member of it is awaitable"
                if self.awaitable() is False
                else None
            )
        if kind == "instance":
            if self.self_ref or self.resolver is None or self.defn is None:
                return None
            if self.resolver.class_has(self, "__await__") is not False:
                return None
            name = self.defn.qualname
            if self.origin is not None and self.origin.defn is not None and self.origin.defn.kind == "function":
                return (
                    f"an instance of `{name}` returned by plain `def {self._callee()}`, and `{name}` has no `__await__`"
                )
            return f"an instance of `{name}`, which has no `__await__`"
        if kind == "many" and self.name:
            if self.origin is not None and self.origin.defn is not None:
                return f"the `{self.name}` returned by `{self._callee()}()`, a plain `def`"
            return f"a `{self.name}`"
        if kind == "builtin":
            if self.origin is not None and self.origin.defn is not None:
                return f"the result of `{self._callee()}()`, a plain `def` that returns no awaitable"
            return f"{_article(self.name)} `{self.name}`"
        if kind == "plain":
            if self.via_property:
                return f"the property `{self.qualname}`, a plain value"
            if self.origin is not None and self.origin.defn is not None:
                return f"the result of `{self._callee()}()`, a plain `def` that returns no awaitable"
            if self.origin is not None:
                return f"the result of `{self.origin.name}()`, which is not awaitable"
            return "a plain value"
        if kind == "function":
            return f"the function `{self._callee()}` itself (it is never called)"
        if kind == "class":
            return f"the class `{self._callee()}` itself"
        if kind == "module":
            return f"the module `{self.name}`"
        if kind == "asyncgen":
            return f"the async generator returned by `{self._callee()}()`"
        if kind == "gen":
            return f"the generator returned by `{self._callee()}()`"
        if kind in ("sync-cm", "async-cm"):
            return f"the context manager returned by `{self._callee()}()`"
        if kind == "sync-iter":
            return f"the iterator returned by `{self._callee()}()`"
        return None

    def await_fix(self) -> str:
        kind = self.kind
        if kind == "asyncgen":
            return f"iterate it with `async for ... in {self._callee()}(...)` instead of awaiting it"
        if kind == "async-cm":
            return f"use `async with {self._callee()}(...)` instead of awaiting it"
        if kind == "sync-cm":
            return f"use `with {self._callee()}(...)` instead of awaiting it"
        if kind == "function":
            return f"call it: `await {self._callee()}(...)`"
        sibling = self.resolver.async_sibling(self) if self.resolver is not None else None
        if sibling:
            return f"use `await {sibling}(...)`, or remove `await`"
        source = self._def_source()
        if source is not None and source.defn is not None and source.defn.kind == "function":
            return f"remove `await`, or make `{self._callee()}` an `async def`"
        return "remove `await`"

    def type_name(self) -> str:
        return {
            "gen": "generator",
            "asyncgen": "async_generator",
            "coroutine": "coroutine",
            "sync-iter": self._callee(),
        }.get(self.kind, self.defn.qualname.rsplit(".", 1)[-1] if self.kind == "instance" and self.defn else "")

    def context_problem(self, is_async: bool) -> tuple[str, str, str] | None:
        kind = self.kind
        if kind == "union":
            return _union_problem(self.name, [m.context_problem(is_async) for m in self.members])
        callee = self._callee()
        if kind == "coroutine":
            proto = "asynchronous context manager" if is_async else "context manager"
            return (
                f"the coroutine returned by `async def {callee}` without awaiting it",
                f"TypeError: 'coroutine' object does not support the {proto} protocol",
                f"await it first: `{'async with' if is_async else 'with'} await {callee}(...)`",
            )
        if is_async and kind == "sync-cm":
            return (
                f"`{callee}`, a `@contextmanager` (sync only)",
                "TypeError: '_GeneratorContextManager' object does not support the asynchronous "
                "context manager protocol",
                "use `with`, or make it an `@asynccontextmanager` over an `async def`",
            )
        if not is_async and kind == "async-cm":
            return (
                f"`{callee}`, an `@asynccontextmanager` (async only)",
                "TypeError: '_AsyncGeneratorContextManager' object does not support the context manager protocol",
                "use `async with` inside an `async def`",
            )
        if not is_async:
            pass  # `with` on a value that is no context manager at all is not an async misuse
        elif kind == "builtin" or (kind == "many" and self.name):
            return (
                f"{_article(self.name)} `{self.name}`, which is not a context manager",
                f"TypeError: '{self.name}' object does not support the asynchronous context manager protocol",
                "`async with` needs an object with `__aenter__`/`__aexit__`",
            )
        elif kind == "class" and not self.self_ref and self.resolver is not None and self.defn is not None:
            name = self.defn.qualname.rsplit(".", 1)[-1]
            has_aenter = self.resolver.class_has(self, "__aenter__")
            # every class of its MRO is known, none has a metaclass or a decorator that may add members
            if has_aenter is not None and self.resolver.plainly_built(self):
                fix = (
                    f"enter an instance: `async with {name}(...)`"
                    if has_aenter
                    else "`async with` needs an object with `__aenter__`/`__aexit__`"
                )
                return (
                    f"the class `{name}` itself, not an instance",
                    "TypeError: 'type' object does not support the asynchronous context manager protocol",
                    fix,
                )
        if kind == "instance" and not self.self_ref and self.resolver is not None and self.defn is not None:
            name = self.defn.qualname.rsplit(".", 1)[-1]
            has_enter = self.resolver.class_has(self, "__enter__")
            has_aenter = self.resolver.class_has(self, "__aenter__")
            if (
                is_async
                and has_aenter is False
                and has_enter is False
                and self.resolver.plainly_built(self)
                and not self.resolver.subclass_defines(self, ("__aenter__", "__enter__"))
            ):
                return (
                    f"`{name}`, which has neither `__aenter__` nor `__enter__`",
                    f"TypeError: '{name}' object does not support the asynchronous context manager protocol",
                    "`async with` needs an object with `__aenter__`/`__aexit__`",
                )
            if is_async and has_aenter is True and self.resolver.plainly_built(self):
                problem = self._entry_exit_problem(name)
                if problem is not None:
                    return problem
            if (
                is_async
                and has_aenter is False
                and has_enter is True
                and not self.resolver.subclass_defines(self, ("__aenter__",))
            ):
                return (
                    f"`{name}`, which has `__enter__` but no `__aenter__`",
                    f"TypeError: '{name}' object does not support the asynchronous context manager protocol",
                    "use `with`, or add `__aenter__`/`__aexit__`",
                )
            if (
                not is_async
                and has_enter is False
                and has_aenter is True
                and not self.resolver.subclass_defines(self, ("__enter__",))
            ):
                return (
                    f"`{name}`, which has `__aenter__` but no `__enter__`",
                    f"TypeError: '{name}' object does not support the context manager protocol",
                    "use `async with` inside an `async def`",
                )
        return None

    def _entry_exit_problem(self, name: str) -> tuple[str, str, str] | None:
        """`async with` needs `__aexit__` too, and awaits what both return: a plain `def` returning what is known
        not to be awaitable fails (judged only when no subclass or subclass hook may decide it)."""
        assert self.resolver is not None
        if self._lacks(("__aexit__",)):
            return (
                f"`{name}`, which has `__aenter__` but no `__aexit__`",
                f"TypeError: '{name}' object does not support the asynchronous context manager protocol "
                "(missed __aexit__ method)",
                "add an `async def __aexit__(self, *exc)`",
            )
        for method in ("__aenter__", "__aexit__"):
            result = self.resolver.method_result(self, method)
            if result.awaitable() is False and not result.overridable:
                if self.resolver.subclass_defines(self, (method,)):
                    continue
                got = result.type_name() or result.name
                returned = f"{_article(got)} `{got}`" if got else "no awaitable"
                error = f"TypeError: 'async with' received an object from {method} that does not implement __await__"
                return (
                    f"`{name}`, whose plain `def {method}` returns {returned}",
                    error,
                    f"make `{method}` an `async def`",
                )
        return None

    def _aiter_result(self) -> tuple[str, str, str] | None:
        """`async for` calls `__anext__` on what `__aiter__` returns: a coroutine (an `async def __aiter__`,
        as before Python 3.7) or an instance of a plainly built class without `__anext__` fails."""
        resolver = self.resolver
        if self.self_ref or resolver is None or resolver.class_has(self, "__aiter__") is not True:
            return None
        if not resolver.plainly_built(self) or resolver.subclass_defines(self, ("__aiter__",)):
            return None
        result = resolver.method_result(self, "__aiter__")
        coroutine = result.kind == "coroutine"
        if result.overridable or not (coroutine or (result.kind == "instance" and result._lacks(("__anext__",)))):
            return None
        got = result.type_name()
        return (
            f"`{self.type_name()}`, whose `__aiter__` returns "
            + ("a coroutine (an `async def __aiter__`)" if coroutine else f"`{got}`, which has no `__anext__`"),
            f"TypeError: 'async for' received an object from __aiter__ that does not implement __anext__: {got}",
            "make `__aiter__` a plain `def`" if coroutine else f"give `{got}` an `async def __anext__`",
        )

    def iteration_problem(self, is_async: bool) -> tuple[str, str, str] | None:
        kind = self.kind
        if kind == "union":
            return _union_problem(self.name, [m.iteration_problem(is_async) for m in self.members])
        callee = self._callee()
        if is_async:
            if kind == "coroutine":
                return (
                    f"the coroutine returned by `async def {callee}` (not awaited)",
                    "TypeError: 'async for' requires an object with __aiter__ method, got coroutine",
                    f"write `async for ... in await {callee}(...)`",
                )
            if kind == "builtin" or (kind == "many" and self.name):
                iterable = self.name in ITERABLE_BUILTINS
                return (
                    f"{_article(self.name)} `{self.name}`" + (", a sync iterable" if iterable else ""),
                    f"TypeError: 'async for' requires an object with __aiter__ method, got {self.name}",
                    "use `for`"
                    if iterable
                    else f"{_article(self.name)} `{self.name}` is not iterable: `async for` needs an async iterable",
                )
            if kind == "class" and not self.self_ref and self.defn is not None and self.resolver is not None:
                # the class object itself: only a metaclass could make it async-iterable (`class_has` is None then)
                name = self._callee()
                if self.resolver.class_has(self, "__aiter__") is not None and self.resolver.plainly_built(self):
                    return (
                        f"the class `{name}` itself, not an instance",
                        "TypeError: 'async for' requires an object with __aiter__ method, got type",
                        f"iterate an instance: `async for ... in {name}(...)`"
                        if self.resolver.class_has(self, "__aiter__")
                        else "`async for` needs an async iterable",
                    )
                return None
            if kind in ("gen", "sync-iter") or (
                kind == "instance" and self._only(("__iter__", "__getitem__"), "__aiter__")
            ):
                got = self.type_name()
                return (
                    f"the sync iterable returned by `{callee}`" if kind != "instance" else f"`{got}`, a sync iterable",
                    f"TypeError: 'async for' requires an object with __aiter__ method, got {got}",
                    "use `for`, or make it an async generator (`async def` with `yield`)",
                )
            if kind == "instance" and self._lacks(("__aiter__", "__iter__", "__getitem__")):
                got = self.type_name()
                return (
                    f"`{got}`, which has neither `__aiter__` nor `__iter__`",
                    f"TypeError: 'async for' requires an object with __aiter__ method, got {got}",
                    "`async for` needs an object whose `__aiter__` returns an async iterator",
                )
            return self._aiter_result() if kind == "instance" else None
        if kind in ("asyncgen", "coroutine") or (kind == "instance" and self._only(("__aiter__",), "__iter__")):
            got = self.type_name()
            what = {
                "asyncgen": f"the async generator returned by `async def {callee}`",
                "coroutine": f"the coroutine returned by `async def {callee}` (not awaited)",
            }.get(kind, f"`{got}`, an async iterable")
            fix = (
                f"write `for ... in await {callee}(...)`"
                if kind == "coroutine"
                else "use `async for` inside an `async def`"
            )
            return (what, f"TypeError: '{got}' object is not iterable", fix)
        return None

    def _lacks(self, names: tuple[str, ...]) -> bool:
        """Whether the instance's class has none of ``names``, every class of its MRO known and plainly built."""
        if self.self_ref or self.resolver is None or self.defn is None:
            return False
        resolver = self.resolver
        return (
            all(resolver.class_has(self, name) is False for name in names)
            and resolver.plainly_built(self)
            and not resolver.subclass_defines(self, names)
        )

    def _only(self, present: tuple[str, ...], absent: str) -> bool:
        if self.self_ref or self.resolver is None or self.defn is None:
            return False
        has_any = any(self.resolver.class_has(self, name) is True for name in present)
        return (
            has_any
            and self.resolver.class_has(self, absent) is False
            and not self.resolver.subclass_defines(self, (absent,))
        )

    def is_coroutine(self) -> bool:
        return self.kind == "coroutine"

    def awaitable(self) -> bool | None:
        """True / False when known, None when it depends on things the scanner cannot see."""
        if self.kind in ("coroutine", "awaitable", "asyncmock-result"):
            return True
        if self.kind == "instance":
            if self.self_ref or self.resolver is None:
                return None
            has = self.resolver.class_has(self, "__await__")
            return None if has is None else has
        if self.kind in _NOT_AWAITABLE_KINDS or self.kind == "sync-iter":
            return False
        if self.kind == "many":  # a declared list/set/tuple (``name``) is never awaitable; an Iterable may be
            return False if self.name else None
        if self.kind == "union":  # awaitable when one member is; not when none may be
            verdicts = [m.awaitable() for m in self.members]
            return True if True in verdicts else (False if all(v is False for v in verdicts) else None)
        return None


UNKNOWN = Value("unknown")


def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _union_problem(name: str, problems: list[tuple[str, str, str] | None]) -> tuple[str, str, str] | None:
    """A declared union ``name`` fails only when every member does: the first member's problem, in the union's
    words."""
    if not problems or any(p is None for p in problems):
        return None
    first = problems[0]
    assert first is not None
    return (f"a value declared `{name}` (each member fails; the first: {first[0]})", first[1], first[2])
