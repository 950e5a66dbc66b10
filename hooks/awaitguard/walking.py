"""The state of the facts walk, and what its parts ask of each other.

The walk (``facts._Collector``) is one class built from parts, each in its own module:
``definitions`` (defs, classes, imports), ``statements`` (bindings, control flow and the drop
sites of statements) and ``expressions`` (the search for awaits, comprehensions, f-string calls,
value uses and patches). ``Walk`` declares the state they share and the methods they call on
each other, so each part type-checks on its own. ``Scope`` is the walk's record of an open scope.
"""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod
from typing import Any

from awaitguard.conditions import Target
from awaitguard.hotlines import HotLines
from awaitguard.model import (
    UNKNOWN_REF,
    DefFact,
    ImportFact,
    Ref,
    ScopeFact,
    Site,
)

# fields that never hold a node worth searching: `Load`/`Store` and operators (leaves), strings, flags
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "conversion", "is_async", "kind"})
_SEARCHED: dict[type[ast.AST], tuple[str, ...]] = {ast.Constant: ()}


def push_children(stack: list[Any], node: ast.AST) -> None:
    """``stack.extend(ast.iter_child_nodes(node))``, same order, without the leaf fields."""
    names = _SEARCHED.get(type(node))
    if names is None:
        names = _SEARCHED[type(node)] = tuple(f for f in node._fields if f not in _LEAF_FIELDS)
    for name in names:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            stack.append(value)
        elif isinstance(value, list):
            stack.extend(item for item in value if isinstance(item, ast.AST))


class Scope:
    """One module, function or class being walked. A plain class: a dataclass costs about 2 M
    instructions to create at each start (its methods compiled from source: docs/speed.md)."""

    __slots__ = (
        *("qualname", "kind", "is_async", "cls", "parent", "params", "bindings", "returns", "returns_param"),
        *("plain_return", "node", "text", "is_static", "is_classmethod", "class_attrs", "class_members"),
        *("outer_names", "cold"),
    )

    def __init__(
        self,
        qualname: str,
        kind: str,  # module | function | class
        *,
        is_async: bool = False,
        cls: str = "",  # for methods: the class qualname
        parent: str = "",
        params: tuple[str, ...] = (),
        plain_return: bool = False,  # return annotation names only plain builtins
        node: ast.FunctionDef | ast.AsyncFunctionDef | None = None,
        is_static: bool = False,
        is_classmethod: bool = False,
        cold: bool = False,  # no line of the function can hold what ``exprs`` looks for: it returns at once
    ) -> None:
        self.qualname = qualname
        self.kind = kind
        self.is_async = is_async
        self.cls = cls
        self.parent = parent
        self.params = params
        self.bindings: list[tuple[str, Ref]] = []
        self.returns: list[Ref] = []
        self.returns_param = False
        self.plain_return = plain_return
        self.node = node
        self.text: bytes | None = None  # the function's source, read once when needed
        self.is_static = is_static
        self.is_classmethod = is_classmethod
        self.class_attrs: list[tuple[str, str, Ref]] = []
        self.class_members: list[str] = []
        self.outer_names: set[str] = set()  # declared `global` or `nonlocal` here
        self.cold = cold


class Walk(ABC):
    """What the parts of the walk (``facts._Collector``) ask of each other, declared once."""

    path: str
    module: str
    is_package: bool
    want_sites: bool
    target: Target | None
    lines: list[bytes]
    gate: HotLines
    assigns_doubles: bool  # test code mentioning `Mock`: `obj.attr = MagicMock()` makes a patch site
    defs: list[DefFact]
    imports: list[ImportFact]
    star: list[str]
    all_names: tuple[str, ...] | None
    scopes: list[ScopeFact]
    sites: list[Site]
    guarded: int
    expects_error: int
    stack: list[Scope]
    fscope: Scope

    @property
    @abstractmethod
    def scope(self) -> Scope: ...

    @abstractmethod
    def function_scope(self) -> Scope: ...

    @abstractmethod
    def col(self, node: ast.expr | ast.stmt) -> int: ...

    @abstractmethod
    def bind(self, name: str, ref: Ref) -> None: ...

    @abstractmethod
    def bind_target(self, target: ast.expr, ref: Ref) -> None: ...

    @abstractmethod
    def _self_attr(self, target: ast.Attribute, ref: Ref) -> None: ...

    @abstractmethod
    def _class_binding(self, name: str, ref: Ref) -> None: ...

    @abstractmethod
    def site(
        self,
        kind: str,
        node: ast.expr | ast.stmt,
        ref: Ref,
        context: str = "",
        target: str = "",
        target_ref: Ref = UNKNOWN_REF,
        double: Ref = UNKNOWN_REF,
        text: str = "",
    ) -> None: ...

    @abstractmethod
    def body(self, stmts: list[ast.stmt]) -> None: ...

    @abstractmethod
    def exprs(self, *nodes: ast.expr | None) -> None: ...

    @abstractmethod
    def values(self, node: ast.expr | None) -> None: ...

    @abstractmethod
    def drop(self, node: ast.expr, context: str) -> None: ...

    @abstractmethod
    def handed(self, node: ast.expr | None) -> None: ...

    @abstractmethod
    def assigned_double(self, node: ast.Assign) -> None: ...

    @abstractmethod
    def bool_context(self, test: ast.expr) -> None: ...

    @abstractmethod
    def uses(self, name: str) -> int: ...

    @abstractmethod
    def sync_place(self) -> str: ...
