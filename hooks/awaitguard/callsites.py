"""Where a name occurs in a module, for ``callers.py``'s search: a module parsed once with each node's parent
(``Parsed``), the use of a name that may call a def unseen (``Unaccounted``), and the calls of a plain method
(``MethodCalls``): every `x.name(...)` of the project, whatever `x` is, since any of them may dispatch to it.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

from awaitguard.refs import ref_of
from awaitguard.resolving import Resolving, Tables
from awaitguard.tree import FsTree, holds_word
from awaitguard.values import UNKNOWN, Value

_MAX_KEPT = 64 << 20  # the bytes of a project on disk kept for the searches, at most (a larger one reads again)
ACCOUNTED_ATTRS = frozenset({"__name__", "__qualname__", "__module__", "__doc__"})
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Parsed(NamedTuple):
    """A module parsed once for the searches: its tree, each node's parent, and the nodes that name a
    word (a `Name`, an attribute, a string constant), so that a search visits those only."""

    tree: ast.Module
    parents: dict[int, ast.AST]
    named: dict[str, list[ast.AST]]
    defined: dict[int, list[ast.AST]]  # the defs and classes by first line


_DEFINED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# fields that hold no node a search asks about: contexts and operators (shared leaves), names, flags
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "conversion", "is_async", "kind", "type_comment"})
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def indexed(tree: ast.Module) -> Parsed:
    """``tree`` with its parents, named nodes and definitions, in one pass in ``ast.walk``'s order (a
    breadth-first walk reading each node's fields once: ``ast.walk`` and ``iter_child_nodes`` around it
    read them twice, through generators, and cost more than the parse)."""
    parents: dict[int, ast.AST] = {}
    named: dict[str, list[ast.AST]] = {}
    defined: dict[int, list[ast.AST]] = {}
    todo: deque[ast.AST] = deque([tree])
    pop, push, node_type, fields_of = todo.popleft, todo.append, ast.AST, _CHILD_FIELDS
    while todo:
        node = pop()
        kind = type(node)
        if kind is ast.Name:
            named.setdefault(node.id, []).append(node)  # type: ignore[attr-defined]
            continue  # no child but its `Load`/`Store`
        if kind is ast.Attribute:
            named.setdefault(node.attr, []).append(node)  # type: ignore[attr-defined]
        elif kind is ast.Constant:
            if type(node.value) is str:  # type: ignore[attr-defined]
                named.setdefault(node.value, []).append(node)  # type: ignore[attr-defined]
            continue
        elif kind in _DEFINED:
            defined.setdefault(node.lineno, []).append(node)  # type: ignore[attr-defined]
        fields = fields_of.get(kind)
        if fields is None:
            fields = fields_of[kind] = tuple(f for f in node._fields if f not in _LEAF_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                parents[id(value)] = node
                push(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        parents[id(item)] = node
                        push(item)
    return Parsed(tree, parents, named, defined)


class Unaccounted(Exception):
    """A use of the callee's name that may call it unseen: the parameters stay unknown."""


class MethodCalls(Resolving):
    """The part of the callers' search that reads calls of a plain method and of a class's own `cls(...)`."""

    _project_bytes: dict[str, bytes] | None
    _prefixes: dict[bytes, bool]  # ``_named_by_prefix``: whether a string of the project holds the prefix

    def _kept_bytes(self) -> dict[str, bytes]:
        """The files of a project on disk, read once (a full scan asks for dozens of words: each search read
        every file again); {} for a git tree or a project too large to keep."""
        tree = self.index.tree
        if not isinstance(tree, FsTree):
            return {}
        if self._project_bytes is None:
            self._project_bytes = tree.read(tree.files())
            if sum(map(len, self._project_bytes.values())) > _MAX_KEPT:
                self._project_bytes = {}
        return self._project_bytes

    def _mentioning(self, word: str) -> list[str]:
        """The project's files holding ``word`` as a whole word (from the kept bytes, else ``grep``)."""
        tree = self.index.tree
        kept = self._kept_bytes()
        if not kept or (isinstance(tree, FsTree) and tree.keeps):
            return sorted(tree.grep({word}))  # a tree keeping its bytes keeps each file's words too
        plain = word.encode()
        return sorted(path for path, data in kept.items() if holds_word(data, plain))

    def _named_by_prefix(self, name: str) -> bool:
        """Whether a string of the project may build the method's name: `getattr(self, "visit_" + kind)` or
        `getattr(self, f"on_{event}")` calls a method without naming it (a quoted prefix of the name, up to one
        of its underscores, ending a literal or an f-string's text before a field)."""
        for end in range(2, len(name)):
            if name[end - 1] != "_" or not name[: end - 1].strip("_"):
                continue
            prefix = name[:end].encode()
            known = self._prefixes.get(prefix)
            if known is not None:
                if known:
                    return True
                continue
            self._prefixes[prefix] = False
            for data in self._all_bytes().values():
                for quote in (b"'", b'"'):
                    at = data.find(quote + prefix)  # then the byte after it: a closing quote or a field's brace
                    while at != -1:
                        if data[at + len(prefix) + 1 : at + len(prefix) + 2] in (quote, b"{"):
                            self._prefixes[prefix] = True
                            return True
                        at = data.find(quote + prefix, at + 1)
        return False

    def _all_bytes(self) -> dict[str, bytes]:
        tree = self.index.tree
        return self._kept_bytes() or tree.read(tree.files())

    def _closed_method(self, owner: Value, name: str) -> bool:
        """Whether a plain method ``name`` of ``owner`` is called only by the project's own `x.name(...)`: not a
        dunder (the language calls those), and every class of its MRO in the project (no library base whose
        code calls it with arguments of its own, and no metaclass; a `__getattr__` calls nothing by this name)."""
        if name.startswith("__"):
            return False
        return all(
            complete and cls.defn is not None and cls.module in self.index.modules and not cls.defn.has_metaclass
            for cls, complete in self._mro(owner)
        )

    def _method_call(
        self,
        node: ast.Attribute,
        parents: dict[int, ast.AST],
        module: str,
        scope: str,
        bound: frozenset[str],
        in_class_body: bool,
    ) -> tuple[ast.Call, tuple[str, str], frozenset[str]] | None:
        """`x.name(...)` for a plain method: a call of it whatever `x` is, unless `x` is a module (another
        function) or a class (`Cls.name(obj, ...)` shifts the arguments: not followed)."""
        parent = parents.get(id(node))
        if not isinstance(parent, ast.Call) or parent.func is not node or in_class_body:
            raise Unaccounted  # the bound method handed on: it may be called unseen
        receiver = UNKNOWN if bound_root(node.value, bound) else self._value(module, scope, ref_of(node.value))
        if receiver.kind == "module":
            return None
        if receiver.kind in ("class", "external"):
            raise Unaccounted
        return parent, (module, scope), bound

    def _class_own_calls(
        self, node: ast.AST, parents: dict[int, ast.AST], module: str, cls: Value
    ) -> Iterator[tuple[ast.Call, tuple[str, str], frozenset[str]]]:
        """In ``cls``'s own module: `cls(...)` in its class methods, and `type(self)(...)`/`self.__class__`."""
        assert cls.defn is not None
        if (isinstance(node, ast.Attribute) and node.attr == "__class__") or is_type_call(node):
            parent = parents.get(id(node))
            if not (isinstance(parent, ast.Attribute) and parent.attr in ACCOUNTED_ATTRS):
                raise Unaccounted
            return
        if not isinstance(node, ast.Name):
            return
        scope, bound, in_class_body = scope_of(node, parents)
        tables = self.tables(module)
        fact = tables.scopes.get(scope) if tables is not None else None
        if fact is None or fact.cls != cls.defn.qualname or not fact.is_classmethod or node.id != fact.params[0]:
            return
        if node.id in bound or in_class_body:
            raise Unaccounted
        parent = parents.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            yield parent, (module, scope), bound
        elif not (isinstance(parent, ast.Attribute) and not parent.attr.startswith("__")):
            raise Unaccounted  # `cls` handed on: it may be called elsewhere

    def _own_params(self, where: tuple[str, str], name: str) -> frozenset[str]:
        """The parameters of the method ``where`` when it is named ``name`` too (an override calling its base's)."""
        tables = self.tables(where[0])
        scope = tables.scopes.get(where[1]) if tables is not None and where[1].endswith(f".{name}") else None
        return frozenset(scope.params[1:]) if scope is not None and scope.cls and not scope.is_static else frozenset()

    def _inheriting(self, cls: ast.ClassDef, module: str, scope: str) -> Value | None:
        """The project class ``cls`` (whose first base is the callee's class) when its calls run that class's
        `__init__` with their own arguments: no `__init__`, `__new__`, decorator or keyword of its own."""
        own = {n.name for n in cls.body if isinstance(n, FUNCS)}
        if own & {"__init__", "__new__", "__call__"} or cls.decorator_list or cls.keywords:
            return None
        value = self._value(module, scope, (f"n:{cls.name}",))
        return value if value.kind == "class" and value.defn is not None and value.defn.line == cls.lineno else None

    def _later_base(self, node: ast.AST, parent: ast.AST | None, module: str, scope: str, target: Value) -> bool:
        """A base after the callee's class in a class statement (`class Sub(Callee, types.Message)`): it cannot
        be the callee's class again (a duplicate base is a TypeError)."""
        if not isinstance(parent, ast.ClassDef) or node not in parent.bases[1:]:
            return False
        first = self._value(module, scope, ref_of(parent.bases[0]))
        return first.kind == "class" and first.defn == target.defn and first.module == target.module


def scope_of(node: ast.AST, parents: dict[int, ast.AST]) -> tuple[str, frozenset[str], bool]:
    """The function scope ``node`` is resolved in (as the facts name it), the names lambdas and
    comprehensions around it bind, and whether it sits in a class body (outside any def)."""
    names: list[str] = []
    kinds: list[str] = []
    bound: set[str] = set()
    child: ast.AST = node
    parent = parents.get(id(node))
    in_class_body: bool | None = None
    while parent is not None:
        if isinstance(parent, FUNCS) and child in parent.body:
            names.append(parent.name)
            kinds.append("function")
            in_class_body = False if in_class_body is None else in_class_body
        elif isinstance(parent, ast.ClassDef) and child in parent.body:
            names.append(parent.name)
            kinds.append("class")
            in_class_body = True if in_class_body is None else in_class_body
        elif isinstance(parent, ast.Lambda):
            bound.update(a.arg for a in ast.walk(parent.args) if isinstance(a, ast.arg))
        elif isinstance(parent, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for gen in parent.generators:
                bound.update(n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name))
        child, parent = parent, parents.get(id(parent))
    qualname = ""
    function = ""
    kinds_out = kinds[::-1]
    for name, kind, previous in zip(names[::-1], kinds_out, ["", *kinds_out], strict=False):
        qualname = (
            f"{qualname}.<locals>.{name}" if previous == "function" else f"{qualname}.{name}" if qualname else name
        )
        if kind == "function":
            function = qualname
    return function, frozenset(bound), bool(in_class_body)


def bound_root(expr: ast.AST, bound: frozenset[str]) -> bool:
    return bool(bound) and any(isinstance(n, ast.Name) and n.id in bound for n in ast.walk(expr))


def in_annotation(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    child, parent = node, parents.get(id(node))
    while parent is not None:
        if isinstance(parent, ast.arg) and child is parent.annotation:
            return True
        if isinstance(parent, FUNCS) and child is parent.returns:
            return True
        if isinstance(parent, ast.AnnAssign) and child is parent.annotation:
            return True
        child, parent = parent, parents.get(id(parent))
    return False


def isinstance_class(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    parent = parents.get(id(node))
    if isinstance(parent, ast.Tuple):
        node, parent = parent, parents.get(id(parent))
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and parent.func.id in ("isinstance", "issubclass")
        and len(parent.args) == 2
        and parent.args[1] is node
    )


def is_type_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "type"
        and len(node.args) == 1
    )


def hasattr_name(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """`hasattr(x, "name")`: reads whether the attribute exists, calls nothing."""
    parent = parents.get(id(node))
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and parent.func.id == "hasattr"
        and len(parent.args) == 2
        and parent.args[1] is node
    )


def rewriter_argument(node: ast.AST, parent: ast.AST | None, tables: Tables | None) -> bool:
    """A class handed, at a module's top level, to a function rewriting its methods (``rewrites.py``)."""
    return (
        isinstance(parent, ast.Call)
        and node in parent.args
        and tables is not None
        and ref_of(node) in tables.facts.rewrites
    )


def in_all(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    parent = parents.get(id(node))
    while isinstance(parent, (ast.List, ast.Tuple, ast.BinOp)):
        parent = parents.get(id(parent))
    targets = (
        parent.targets
        if isinstance(parent, ast.Assign)
        else [parent.target]
        if isinstance(parent, ast.AugAssign | ast.AnnAssign)
        else []
    )
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def allocated(node: ast.AST, parent: ast.AST | None) -> bool:
    """`super().__new__(Cls)`, `object.__new__(Cls)`: an instance of ``Cls`` made without calling `__init__`."""
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Attribute)
        and parent.func.attr == "__new__"
        and parent.args[:1] == [node]
    )


def cannot_bind(call: ast.Call, fn: ast.FunctionDef | ast.AsyncFunctionDef, skip: int) -> bool:
    """Whether ``call``'s arguments cannot bind ``fn``'s parameters (its first ``skip`` given): too many
    positional arguments, or a keyword it has no parameter for (calling ``fn`` so raises TypeError)."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return False
    args = fn.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)][skip:]
    if len(call.args) > len(positional) and args.vararg is None:
        return True
    by_name = {a.arg for a in args.args if a.arg in positional} | {a.arg for a in args.kwonlyargs}
    return args.kwarg is None and any(k.arg not in by_name for k in call.keywords)
