"""What an expression evaluates to (``Value``): its kind, where it comes from, whether it is awaitable.

The resolver computes values; the few questions a value cannot answer alone (does its class
define a member? is there an async sibling?) go back to it through ``Oracle``. What that means for
`await`, `with` and `for` is ``misuse.py``'s, as data; the rules word it.
"""

from __future__ import annotations

from typing import Any, Final, Literal, NamedTuple, Protocol

from awaitguard.model import DefFact


class Oracle(Protocol):
    """The part of the resolver a value asks about its class and siblings."""

    def class_has(self, value: Value, member: str) -> bool | None: ...

    def async_sibling(self, value: Value) -> str | None: ...

    def defined_async(self, names: tuple[str, ...]) -> bool: ...

    def plainly_built(self, value: Value) -> bool: ...

    def method_result(self, value: Value, member: str) -> Value: ...

    def subclass_defines(self, value: Value, names: tuple[str, ...]) -> bool: ...

    def awaited(self, value: Value) -> Value: ...


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


DefKind = Literal["class", "async def", "def"]


class Definition(NamedTuple):
    """Where a value's callable or class is defined: the data of a finding's note about it."""

    path: str
    line: int
    col: int
    short: str
    kind: DefKind


class Value:
    """What an expression evaluates to, as far as awaitability goes.

    A plain class rather than a frozen dataclass: creating the dataclass (its methods compiled from
    source) and importing ``dataclasses`` for it cost every scan about 30 M instructions at its start,
    and its ``__init__`` wrote each of the 16 fields through ``object.__setattr__`` (docs/speed.md).
    Immutable all the same (``Final``), and equal and hashed as the dataclass was: by the fields
    ``_compared`` lists (not ``origin``, ``overridable``, ``resolver``, ``declared_at``, ``receiver``)."""

    __slots__ = (
        *("kind", "module", "path", "defn", "name", "origin", "via_property", "self_ref", "overridable"),
        *("resolver", "members", "declared_at", "bound", "container", "receiver"),
    )

    def __init__(
        self,
        kind: str,
        module: str = "",
        path: str = "",
        defn: DefFact | None = None,
        name: str = "",
        origin: Value | None = None,
        via_property: bool = False,
        self_ref: bool = False,
        overridable: tuple[str, ...] = (),
        resolver: Oracle | None = None,
        members: tuple[Value, ...] = (),
        declared_at: tuple[str, int] | None = None,
        bound: bool = False,
        container: str = "",
        receiver: Value | None = None,
    ) -> None:
        # unknown|module|function|class|instance|coroutine|awaitable|plain|gen|asyncgen|sync-cm|
        # async-cm|sync-iter|external|asyncmock|syncmock|asyncmock-class|syncmock-class|lambda|
        # builtin (an instance of the builtin type ``name``: a declared `int`, a literal `[1, 2]`)|
        # overloads (a stub's `@overload`s that do not all agree, ``members`` their functions, ``name`` their
        # qualname: only a call chooses, ``overloads.choose``; unknown as anything else)
        # many (a declared container of one type: ``members`` its item, ``name`` the builtin type it is or "")
        # typevar (a `TypeVar(..., bound=B)`: ``name`` the bound's text, which an annotation naming it declares;
        # a def's result declared with it is whatever its arguments make it, so unknown)
        self.kind: Final = kind
        self.module: Final = module
        self.path: Final = path
        self.defn: Final = defn
        self.name: Final = name  # external dotted name, or a module name
        self.origin: Final = origin  # the callable whose result this is (not compared)
        self.via_property: Final = via_property
        self.self_ref: Final = self_ref  # reached through `self`/`cls`/`super()`: subclasses may override
        # methods called through `self` that this result comes from: a subclass may override them as
        # `async def` (not compared)
        self.overridable: Final = overridable
        self.resolver: Final = resolver  # (not compared)
        # a declared union (``name`` its text): its members; a declared `Callable[..., R]`: R, what calling it gives
        self.members: Final = members
        # taken from a `sync`/`async` declaration of the project's policy: (its file, its line) (not compared)
        self.declared_at: Final = declared_at
        self.bound: Final = (
            bound  # overloads: called on an instance (a classmethod on its class), the first parameter given
        )
        # a declared container of one type (kind "many", its item in ``members``): the name it is declared
        # with, which ``containers.CONTAINERS`` says how to reach an item of
        self.container: Final = container
        # a method reached on an instance (not through `self`): that instance, which a `-> Self` result is
        # (not compared)
        self.receiver: Final = receiver

    def _compared(self) -> tuple[object, ...]:
        return (
            *(self.kind, self.module, self.path, self.defn, self.name, self.via_property, self.self_ref),
            *(self.members, self.bound, self.container),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value):
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        shown = (name for name in self.__slots__ if name not in ("resolver", "receiver"))
        return f"Value({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})"

    def replace(self, **changes: Any) -> Value:
        """A copy with ``changes`` (fields by name), as ``dataclasses.replace`` made one."""
        return Value(**{**{name: getattr(self, name) for name in self.__slots__}, **changes})

    # -- identity, for findings ------------------------------------------------------------
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

    def definition(self) -> Definition | None:
        """Where the callable or class this value comes from is defined, for a finding's note."""
        source = self._def_source()
        if source is None or source.defn is None or source.path.startswith("<"):
            return None
        defn = source.defn
        short = defn.qualname.rsplit(".", 1)[-1]
        kind: DefKind = "class" if defn.kind == "class" else ("async def" if defn.is_async else "def")
        return Definition(source.path, defn.line, defn.col, short, kind)

    def callee(self) -> str:
        """The short name of the callable or class this value comes from, as a message names it."""
        source = self._def_source()
        if source is not None and source.defn is not None:
            return source.defn.qualname.rsplit(".", 1)[-1]
        return self.name.rsplit(".", 1)[-1] if self.name else "it"

    def from_def(self) -> bool:
        """Whether this value is a project function's result (or the function itself)."""
        source = self._def_source()
        return source is not None and source.defn is not None and source.defn.kind == "function"

    def type_name(self) -> str:
        return {
            "gen": "generator",
            "asyncgen": "async_generator",
            "coroutine": "coroutine",
            "sync-iter": self.callee(),
        }.get(self.kind, self.defn.qualname.rsplit(".", 1)[-1] if self.kind == "instance" and self.defn else "")

    def lacks(self, names: tuple[str, ...]) -> bool:
        """Whether the instance's class has none of ``names``, every class of its MRO known and plainly built."""
        if self.self_ref or self.resolver is None or self.defn is None:
            return False
        resolver = self.resolver
        return (
            all(resolver.class_has(self, name) is False for name in names)
            and resolver.plainly_built(self)
            and not resolver.subclass_defines(self, names)
        )

    def only(self, present: tuple[str, ...], absent: str) -> bool:
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
            if has is False and self.resolver.subclass_defines(self, ("__await__",)):
                return None  # a project subclass has it: what is declared the base may be one
            return None if has is None else has
        if self.kind in _NOT_AWAITABLE_KINDS or self.kind == "sync-iter":
            return False
        if self.kind == "many":  # a declared list/dict/set/tuple (``name``) is never awaitable; an Iterable may be
            return False if self.name else None
        if self.kind == "union":  # awaitable when one member is; not when none may be
            verdicts = [m.awaitable() for m in self.members]
            return True if True in verdicts else (False if all(v is False for v in verdicts) else None)
        return None


UNKNOWN = Value("unknown")
