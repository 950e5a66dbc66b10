"""The state and the methods the resolver's parts share, declared once for them all.

``Resolver`` (``resolve.py``) is built from four parts, each a class of its own module: ``Lookup``
(names, imports, attributes), ``Members`` (the MRO and class members), ``Declared`` (annotations)
and ``Calls`` (what calling a value gives). They call each other through ``self``; ``Resolving``
declares what each may ask of the others, so every part type-checks on its own. ``Tables`` are a
module's facts indexed for lookup, and ``NONE`` is the one value of an assigned `None`.
"""

from __future__ import annotations

import ast
import functools
from abc import ABC, abstractmethod
from collections.abc import Iterator

from awaitguard.index import Index
from awaitguard.model import DefFact, ImportFact, ModuleFacts, Ref, ScopeFact
from awaitguard.overloads import agreeing, is_overload
from awaitguard.values import UNKNOWN, Value

NONE = Value("plain", name="None")  # an assigned `None` (``NONE_REF``)


def collapse_overloads(group: list[DefFact], stub: bool) -> list[DefFact]:
    """`@overload`s: the implementation in source; in a stub, one of them when they all agree, else all of
    them (``stub_overloads``: a call chooses, ``overloads.choose``)."""
    real = [d for d in group if not is_overload(d.decorators)]
    if len(real) < len(group) and not stub and real:
        return real
    if stub and not real:
        first = agreeing(group)
        if first is not None:
            return [first]
    return group


def stub_overloads(facts: ModuleFacts, defs: list[DefFact]) -> bool:
    """Whether ``defs`` (one name's definitions in a module) are a stub's overloads that do not all agree."""
    return facts.is_stub_file and len(defs) > 1 and all(is_overload(d.decorators) for d in defs)


def overloads_value(facts: ModuleFacts, defs: list[DefFact], on_instance: bool) -> Value:
    """A stub's overloads that do not all agree (``stub_overloads``), as one value that only a call resolves
    (``Calls.call``, ``overloads.choose``). ``on_instance``: a method reached through an instance, whose first
    parameter the call gives (a classmethod's is given on its class too; a staticmethod's never)."""
    names = {dec[-1].split(":")[-1].lstrip(".") for d in defs for dec in d.decorators if dec}
    bound = "staticmethod" not in names and (on_instance or "classmethod" in names)
    items = tuple(Value("function", module=facts.module, path=facts.path, defn=d) for d in defs)
    return Value("overloads", module=facts.module, path=facts.path, name=defs[0].qualname, members=items, bound=bound)


class Tables:
    """Per-module lookup tables, built on first use."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self.defs: dict[str, list[DefFact]] = {}
        for d in facts.defs:
            self.defs.setdefault(d.qualname, []).append(d)
        for qualname, group in self.defs.items():
            if len(group) > 1:
                self.defs[qualname] = collapse_overloads(group, facts.is_stub_file)
        self.scopes: dict[str, ScopeFact] = {s.qualname: s for s in facts.scopes}
        self.imports: dict[tuple[str, str], list[ImportFact]] = {}
        for imp in facts.imports:
            self.imports.setdefault((imp.scope, imp.name), []).append(imp)
        self.bindings: dict[str, list[Ref]] = {}
        for name, ref in facts.bindings:
            self.bindings.setdefault(name, []).append(ref)
        self._scope_bindings: dict[str, dict[str, list[Ref]]] = {}

    def scope_bindings(self, scope: ScopeFact) -> dict[str, list[Ref]]:
        """``scope``'s bindings by name, built when first asked for (most scopes of a module never are)."""
        table = self._scope_bindings.get(scope.qualname)
        if table is None:
            table = self._scope_bindings[scope.qualname] = {}
            for name, ref in scope.bindings:
                table.setdefault(name, []).append(ref)
        return table


def class_scope(defn: DefFact) -> str:
    """The function scope a class (or method) body resolves its decorators and bases in."""
    return _enclosing_function(defn.qualname) if "<locals>" in defn.qualname else ""


@functools.lru_cache(maxsize=4096)
def _enclosing_function(qualname: str) -> str:
    parts = qualname.split(".")
    cut = len(parts) - 1 - parts[::-1].index("<locals>")
    return ".".join(parts[:cut])


class Resolving(ABC):
    """What the parts of ``Resolver`` ask of each other (each part implements some of it), and what a
    value asks of the resolver (``values.Oracle``)."""

    index: Index
    _memo: dict[tuple[str, str, Ref], Value]
    _cuts: int  # resolutions cut short so far (a cycle, the depth limit)
    _members: dict[tuple[object, ...], tuple[DefFact | None, Value]]  # ``members.Members._member``
    _globals: dict[tuple[str, str], Value]
    _globals_busy: set[tuple[str, str]]
    # id of a class's DefFact -> (the DefFact, its MRO after itself), from a walk that ran to its end
    _mros: dict[int, tuple[DefFact, tuple[tuple[Value, bool], ...]]]
    _subclassed: dict[tuple[str, str, tuple[str, ...]], bool]
    # id of a class's DefFact -> (the DefFact, its C3 MRO from itself, or None): ``lineage.Lineage._linear``
    _linears: dict[int, tuple[DefFact, tuple[Value, ...] | None]]
    _linear_busy: set[int]
    _subclasses: dict[tuple[str, str], tuple[Value, ...]]  # (module, qualname) -> its multi-base subclasses
    # every project class with several bases, once asked for, and the classes of its MRO (``lineage``)
    _multi_bases: list[tuple[Value, frozenset[tuple[str, str]] | None]] | None
    # a class of those MROs -> the places in ``_multi_bases`` that hold it, and the places whose MRO is not known
    _multi_holding: dict[tuple[str, str], list[int]]
    _multi_unknown: list[int]
    # (module, qualname) of a project class and of a library base -> whether it overrides one of the base's
    # methods with a result of another awaitability (``members.Members._diverges``)
    _diverging: dict[tuple[str, str, str, str], bool]

    def cut_short(self) -> Value:
        """Unknown, as a resolution cut short (a cycle, the depth limit) is; counted, so that what was worked out
        meanwhile is not memoized as if complete (``members.Members._member``)."""
        self._cuts += 1
        return UNKNOWN

    @abstractmethod
    def tables(self, module: str) -> Tables | None: ...

    @abstractmethod
    def _value(self, module: str, scope: str, ref: Ref) -> Value: ...

    @abstractmethod
    def _def_value(self, facts: ModuleFacts, defn: DefFact) -> Value: ...

    @abstractmethod
    def _local_def(self, module: str, qualname: str) -> Value: ...

    @abstractmethod
    def _param_from_callers(self, module: str, qualname: str, name: str) -> Value: ...

    @abstractmethod
    def _merge(self, values: list[Value]) -> Value: ...

    @abstractmethod
    def combined(self, values: list[Value]) -> Value: ...

    @abstractmethod
    def agreed_member(self, owner: Value, name: str) -> Value: ...

    @abstractmethod
    def _stored(self, module: str, scope: str, ref: Ref, attr: str) -> Value | None: ...

    @abstractmethod
    def _def_node(self, path: str, defn: DefFact) -> ast.FunctionDef | ast.AsyncFunctionDef | None: ...

    @abstractmethod
    def _effective(self, fn: Value) -> tuple[Value | None, str]: ...

    @abstractmethod
    def _member(self, owner: Value, name: str) -> Value: ...

    @abstractmethod
    def _linear(self, value: Value, cut_short: list[bool]) -> tuple[Value, ...] | None: ...

    @abstractmethod
    def _trait_instance(self, cls: Value, name: str, scope: str, ref: Ref) -> Value | None: ...

    @abstractmethod
    def _stored_items(self, value: Value) -> Value: ...

    @abstractmethod
    def replaced_outside(self, owner: Value, found: Value, name: str) -> bool: ...

    @abstractmethod
    def stored_outside(self, owner: Value, name: str) -> bool: ...

    @abstractmethod
    def _many(self, element: Value, container: str) -> Value: ...

    @abstractmethod
    def _union_member(self, union: Value, name: str) -> Value: ...

    @abstractmethod
    def _item_method(self, value: Value, name: str) -> Value: ...

    @abstractmethod
    def _mro(self, value: Value) -> Iterator[tuple[Value, bool]]: ...

    @abstractmethod
    def _is_protocol(self, cls: Value) -> bool: ...

    @abstractmethod
    def _known_mro(self, value: Value) -> bool: ...

    @abstractmethod
    def class_has(self, value: Value, member: str) -> bool | None: ...

    @abstractmethod
    def subclass_defines(self, value: Value, names: tuple[str, ...]) -> bool: ...

    @abstractmethod
    def plainly_built(self, value: Value) -> bool: ...

    @abstractmethod
    def async_sibling(self, value: Value) -> str | None: ...

    @abstractmethod
    def async_everywhere(self, name: str, defined: bool = False) -> bool: ...

    @abstractmethod
    def defined_async(self, names: tuple[str, ...]) -> bool: ...

    @abstractmethod
    def call(self, value: Value, args: str | None = None) -> Value: ...

    @abstractmethod
    def method_result(self, value: Value, member: str) -> Value: ...

    @abstractmethod
    def awaited(self, value: Value) -> Value: ...

    @abstractmethod
    def _declared(self, fn: Value) -> Value: ...

    @abstractmethod
    def _stub_result(self, fn: Value) -> Value: ...

    @abstractmethod
    def _awaitable_alias(self, fn: Value) -> Value | None: ...
