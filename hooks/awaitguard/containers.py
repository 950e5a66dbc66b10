"""Declared containers of one type (`list[Conn]`, `dict[str, Conn]`): how their items are reached.

One table for the facts walk (``refs.annotation_ref`` reads which annotations are containers and which
type argument is the item) and the resolver (``declared.py`` gives the item for a `for` target, a
subscript by one index or key, and a call of a method that returns an item). It restates what
typeshed's generic declarations say (`list[_T].pop() -> _T`, `dict[_KT, _VT].__getitem__ -> _VT`...)
for the few containers and methods it names, since the resolver does not read type variables.

``family``:

- "seq": indexed by position; `x[i]` and iteration give the item (a slice is no item: it is a container);
- "set", "iter": iteration gives the item, a subscript is a TypeError (nothing is said);
- "map": `x[key]` gives the value (the item), iteration the keys (nothing is said about those).

``methods``: the methods whose call gives an item. `get` gives the value or `None`: `None` gives way, as
for a declared `Optional[X]`; `get`/`pop` given a default (``DEFAULT_METHODS``) give the value or the default,
which the resolver leaves unknown: a call step that may pass a second argument (``passes_default``; the facts
walk spells a call's arguments, ``overloads.call_step``).

``concrete``: the builtin type an instance is (never awaitable, named in messages), "" for an abstract type or a
class of `collections` (what it is at run time is not a builtin's name).
"""

from __future__ import annotations

from typing import NamedTuple


class Container(NamedTuple):
    family: str  # "seq" | "set" | "iter" | "map"
    methods: frozenset[str]
    concrete: str = ""


def _spec(family: str, methods: str = "", concrete: str = "") -> Container:
    return Container(family, frozenset(methods.split()), concrete)


# the last part of the annotation's name: `typing.List`, `collections.abc.Sequence`, `collections.deque`
CONTAINERS: dict[str, Container] = {
    "list": _spec("seq", "pop", "list"),
    "List": _spec("seq", "pop", "list"),
    "tuple": _spec("seq", "", "tuple"),  # `tuple[X, ...]` only: `tuple[X, Y]` holds two types
    "Tuple": _spec("seq", "", "tuple"),
    "Sequence": _spec("seq"),
    "MutableSequence": _spec("seq", "pop"),
    "deque": _spec("seq", "pop popleft"),
    "Deque": _spec("seq", "pop popleft"),
    "set": _spec("set", "pop", "set"),
    # `typing.Set` is `set`, `collections.abc.Set` an ABC a project class may implement with `__aiter__`: the name
    # alone cannot tell them apart, so neither is said to be a `set` (`pop` gives an item where there is one)
    "Set": _spec("set", "pop"),
    "MutableSet": _spec("set", "pop"),
    "frozenset": _spec("set", "", "frozenset"),
    "FrozenSet": _spec("set", "", "frozenset"),
    "AbstractSet": _spec("set"),
    "Iterable": _spec("iter"),
    "Iterator": _spec("iter"),
    "Collection": _spec("iter"),
    "dict": _spec("map", "get pop setdefault", "dict"),
    "Dict": _spec("map", "get pop setdefault", "dict"),
    "defaultdict": _spec("map", "get pop setdefault"),
    "DefaultDict": _spec("map", "get pop setdefault"),
    "OrderedDict": _spec("map", "get pop setdefault"),
    "MutableMapping": _spec("map", "get pop setdefault"),
    "Mapping": _spec("map", "get"),
}
# methods whose call with a second argument (or a keyword) gives the item or that default
DEFAULT_METHODS = frozenset({"get", "pop"})


def passes_default(step: str | None) -> bool:
    """Whether a call step (``overloads.call_step``: `"(_)"`, `"('k',_)"`, `"(*)"`) may pass more than one
    argument; None (a value called outside a call site) may. A spelt constant holds no `,`, `=` or `*`."""
    return step is None or any(mark in step for mark in ",=*")
