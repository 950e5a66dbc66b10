"""An unannotated parameter, known from its callers: what every call the project makes passes to it.

A parameter without an annotation is unknown (``lookup.Lookup._param``), unless every call of its def
that the project writes passes it an instance of the same class: then, in every run of the project's own
code, it holds that instance. The question is asked once per def, and answered only when all of this
holds (else the parameter stays unknown):

- the def is a class's ``__init__`` (called as the class), a static or class method, or a module-level
  function; not a nested one, not decorated (apart from ``staticmethod``/``classmethod``), in the project;
- a method that may be reached by dispatch from elsewhere is left out: a static or class method must be the
  only definition of its name in its class's MRO, which must be fully known; the class of an ``__init__``
  has no base but ``object``, no decorator, no ``__new__`` or metaclass, and its body never calls
  ``type(...)(...)`` or ``self.__class__(...)``;
- the project's files naming the callee (a whole-word search, at most ``_MAX_FILES`` of them) all parse,
  and every occurrence of that name is accounted for: a call of the def (its arguments are read), a use
  that cannot call it (an annotation, ``isinstance``'s class, an attribute read such as
  ``Draft._from_update``, an ``__all__`` entry), or a name that resolves to another definition. Any other
  use (the class or function passed on, assigned, subclassed, named in a string, an unresolvable
  receiver of the name) may call it unseen;
- in a class method of the class, ``cls(...)`` is a call of the class; any other use of ``cls`` there
  (handed on) is not accounted for;
- every call passes the parameter by position or keyword, without ``*args``/``**kwargs``, from a
  function body or the module (not a class body), with a value that does not depend on a lambda's or a
  comprehension's own names; a call leaving it out gives it the def's default;
- the values merge into one instance of one class (an assigned ``None`` gives way, as elsewhere), and at
  least one call is seen.

Calls from outside the project (a public class a user builds with a client of their own) are not seen;
the inference does not claim anything about them: a finding says that the calls the project makes do
fail. A parameter of a def whose callers are found through another unannotated parameter (a class method
passing its own ``client`` on) is followed the same way, once per def; a cycle is unknown.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

from awaitguard.layout import is_test_code
from awaitguard.model import DefFact
from awaitguard.refs import ref_of
from awaitguard.resolving import NONE, Resolving, class_scope
from awaitguard.tree import FsTree, holds_word
from awaitguard.values import UNKNOWN, Value

_MAX_KEPT = 64 << 20  # the bytes of a project on disk kept for the searches, at most (a larger one reads again)
_MAX_FILES = 12  # a name in more files than this is common: its calls are unlikely to agree, and costly to read
_ACCOUNTED_ATTRS = frozenset({"__name__", "__qualname__", "__module__", "__doc__"})
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_ParamValues = dict[str, Value]


class Parsed(NamedTuple):
    """A module parsed once for the searches: its tree, each node's parent, and the nodes that name a
    word (a `Name`, an attribute, a string constant), so that a search visits those only."""

    tree: ast.Module
    parents: dict[int, ast.AST]
    named: dict[str, list[ast.AST]]
    defined: dict[int, list[ast.AST]]  # the defs and classes by first line


_DEFINED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _indexed(tree: ast.Module) -> Parsed:
    """``tree`` with its parents, named nodes and definitions, in one pass in ``ast.walk``'s order (a
    breadth-first walk reading each node's fields once: ``ast.walk`` and ``iter_child_nodes`` around it
    read them twice, through generators, and cost more than the parse)."""
    parents: dict[int, ast.AST] = {}
    named: dict[str, list[ast.AST]] = {}
    defined: dict[int, list[ast.AST]] = {}
    todo: deque[ast.AST] = deque([tree])
    pop, push, node_type = todo.popleft, todo.append, ast.AST
    while todo:
        node = pop()
        kind = type(node)
        key = (
            node.id  # type: ignore[attr-defined]
            if kind is ast.Name
            else node.attr  # type: ignore[attr-defined]
            if kind is ast.Attribute
            else node.value  # type: ignore[attr-defined]
            if kind is ast.Constant and type(node.value) is str  # type: ignore[attr-defined]
            else None
        )
        if key is not None:
            named.setdefault(key, []).append(node)
        elif kind in _DEFINED:
            defined.setdefault(node.lineno, []).append(node)  # type: ignore[attr-defined]
        for name in node._fields:
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


class _Unaccounted(Exception):
    """A use of the callee's name that may call it unseen: the parameters stay unknown."""


class Callers(Resolving):
    callers_on: bool  # only the twin resolver the rules ask for a second opinion (``Resolver.through_callers``)
    _callers: dict[tuple[str, str], _ParamValues]
    _callers_busy: set[tuple[str, str]]
    _parsed: dict[str, Parsed | None]
    _project_bytes: dict[str, bytes] | None

    def _param_from_callers(self, module: str, qualname: str, name: str) -> Value:
        if not self.callers_on:
            return UNKNOWN
        key = (module, qualname)
        found = self._callers.get(key)
        if found is None:
            if key in self._callers_busy:
                return UNKNOWN
            self._callers_busy.add(key)
            try:
                found = self._callers_of(module, qualname)
            except _Unaccounted:
                found = {}
            finally:
                self._callers_busy.discard(key)
            self._callers[key] = found
        return found.get(name, UNKNOWN)

    # -- which def, and how it is called --------------------------------------------------------------
    def _callers_of(self, module: str, qualname: str) -> _ParamValues:
        tables = self.tables(module)
        if tables is None or module not in self.index.modules or "<locals>" in qualname:
            return {}
        scope = tables.scopes.get(qualname)
        defs = tables.defs.get(qualname, [])
        if scope is None or len(defs) != 1:
            return {}
        defn = defs[0]
        allowed = {"n:staticmethod", "n:classmethod"}
        if any(dec[:1] != dec or dec[0] not in allowed for dec in defn.decorators):
            return {}
        short = qualname.rsplit(".", 1)[-1]
        if is_test_code(tables.facts.path):
            return {}  # pytest calls tests with fixtures, and helpers with them and with doubles: calls not seen
        if not scope.cls:
            target, skip, owner = self._def_value(tables.facts, defn), 0, None
        else:
            owners = tables.defs.get(scope.cls, [])
            if len(owners) != 1:
                return {}
            owner = self._def_value(tables.facts, owners[0])
            if short == "__init__" and not scope.is_static and not scope.is_classmethod:
                if not self._plain_class(owners[0]):
                    return {}
                target, skip = owner, 1
            elif scope.is_static or scope.is_classmethod:
                if not self._only_definition(owner, short):
                    return {}
                target, skip = self._def_value(tables.facts, defn), 1 if scope.is_classmethod else 0
            else:
                return {}
        assert target.defn is not None
        search = target.defn.qualname.rsplit(".", 1)[-1]
        paths = self._mentioning(search)
        if not paths or len(paths) > _MAX_FILES or tables.facts.path not in paths:
            return {}
        if not self._called_somewhere(paths, search):
            return {}
        node = self._def_node(tables.facts.path, defn)
        if node is None:
            return {}
        values: dict[str, list[Value]] = {}
        seen = 0
        for path in paths:
            for call, where, scope_q in self._calls_in(
                path, search, target, owner if skip and short == "__init__" else None
            ):
                seen += 1
                self._read_call(call, node, skip, where, scope_q, module, defn, values)
        if not seen:
            return {}
        out: _ParamValues = {}
        for param, found in values.items():
            merged = self._merge(found)
            if merged.kind == "instance" and merged.defn is not None:
                out[param] = merged
        return out

    def _mentioning(self, word: str) -> list[str]:
        """The project's files holding ``word`` as a whole word. A tree on disk is read once (a full scan asks
        for dozens of words: each search read every file again); a git tree asks ``git grep``."""
        tree = self.index.tree
        if not isinstance(tree, FsTree):
            return sorted(tree.grep({word}))
        if self._project_bytes is None:
            self._project_bytes = tree.read(tree.files())
            if sum(map(len, self._project_bytes.values())) > _MAX_KEPT:
                self._project_bytes = {}
        if not self._project_bytes and tree.files():
            return sorted(tree.grep({word}))
        plain = word.encode()
        return sorted(path for path, data in self._project_bytes.items() if holds_word(data, plain))

    def _called_somewhere(self, paths: list[str], word: str) -> bool:
        """Whether the bytes of ``paths`` call ``word`` anywhere but in its own `def` (before any is parsed)."""
        name = re.escape(word.encode())
        calls = re.compile(rb"(?<![\w.])(def\s+)?" + name + rb"\s*\(|\." + name + rb"\s*\(|\bcls\s*\(")
        blobs = self.index.tree.read(paths) if self._project_bytes is None else self._project_bytes
        return any(not m.group(1) for path in paths for m in calls.finditer(blobs.get(path, b"")))

    def _plain_class(self, cls: DefFact) -> bool:
        """A class only its own calls build: no base but `object`, no decorator, no `__new__`/metaclass."""
        bases_plain = all(base in (("n:object",),) for base in cls.bases)
        return bases_plain and not cls.decorators and not cls.dynamic and not cls.has_metaclass

    def _only_definition(self, owner: Value, name: str) -> bool:
        """Whether no class of ``owner``'s MRO but itself defines ``name`` (a call through a base may reach it)."""
        if not self._known_mro(owner):
            return False
        return not any(
            cls.defn is not None and cls.defn != owner.defn and name in cls.defn.members for cls, _ in self._mro(owner)
        )

    def _def_node(self, path: str, defn: DefFact) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        parsed = self._parse(path)
        short = defn.qualname.rsplit(".", 1)[-1]
        for node in parsed.defined.get(defn.line, ()) if parsed else ():
            if isinstance(node, _FUNCS) and node.name == short:
                return node
        return None

    def _parse(self, path: str) -> Parsed | None:
        if path in self._parsed:
            return self._parsed[path]
        data = self.index.tree.read([path]).get(path)
        found: Parsed | None = None
        if data is not None:
            try:
                tree = ast.parse(data)
            except (SyntaxError, ValueError):
                tree = None
            if tree is not None:
                found = _indexed(tree)
        if len(self._parsed) > 64:
            self._parsed.clear()
        self._parsed[path] = found
        return found

    # -- the occurrences of the name in one file -----------------------------------------------------
    def _calls_in(
        self, path: str, search: str, target: Value, cls: Value | None
    ) -> Iterator[tuple[ast.Call, tuple[str, str], frozenset[str]]]:
        """Every call of ``target`` in ``path`` (call, (module, function scope), names a lambda or a comprehension
        binds around it); raises ``_Unaccounted`` for a use of ``search`` that may call it unseen."""
        parsed = self._parse(path)
        entry = self.index.path_modules.get(path)
        if parsed is None or entry is None:
            raise _Unaccounted
        parents, named = parsed.parents, parsed.named
        module = entry[0]
        assert target.defn is not None
        for node in named.get(search, ()):  # the nodes naming `search`, in ast.walk's order
            if (isinstance(node, ast.Name) and node.id == search) or (
                isinstance(node, ast.Attribute) and node.attr == search
            ):
                call = self._occurrence(node, parents, module, target)
                if call is not None:
                    yield call
            elif isinstance(node, ast.Constant) and node.value == search:
                if not _in_all(node, parents) and not _in_annotation(node, parents):
                    raise _Unaccounted  # `getattr(module, "name")`: not followed here
        if cls is not None and module == cls.module and cls.defn is not None:
            for body in parsed.defined.get(cls.defn.line, ()):
                if isinstance(body, ast.ClassDef):
                    for node in ast.walk(body):
                        yield from self._class_own_calls(node, parents, module, cls)

    def _occurrence(
        self, node: ast.Name | ast.Attribute, parents: dict[int, ast.AST], module: str, target: Value
    ) -> tuple[ast.Call, tuple[str, str], frozenset[str]] | None:
        if _in_annotation(node, parents):
            return None
        if not isinstance(node.ctx, ast.Load):
            raise _Unaccounted  # the name rebound, or set as an attribute
        scope, bound, in_class_body = _scope_of(node, parents)
        value = self._value(module, scope, ref_of(node)) if not _bound_root(node, bound) else UNKNOWN
        ours = value.defn == target.defn and value.module == target.module and value.kind == target.kind
        if value.kind != "unknown" and value.defn is not None and not ours:
            return None  # another definition of that name
        if not ours:
            raise _Unaccounted
        parent = parents.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            if in_class_body:
                raise _Unaccounted
            return parent, (module, scope), bound
        if target.kind == "class":
            if isinstance(parent, ast.Attribute) and not parent.attr.startswith("__"):
                return None  # `Draft._from_update(...)`, a constant: reads the class, builds nothing
            if _isinstance_class(node, parents):
                return None
        raise _Unaccounted

    def _class_own_calls(
        self, node: ast.AST, parents: dict[int, ast.AST], module: str, cls: Value
    ) -> Iterator[tuple[ast.Call, tuple[str, str], frozenset[str]]]:
        """In ``cls``'s own module: `cls(...)` in its class methods, and `type(self)(...)`/`self.__class__`."""
        assert cls.defn is not None
        if (isinstance(node, ast.Attribute) and node.attr == "__class__") or _is_type_call(node):
            parent = parents.get(id(node))
            if not (isinstance(parent, ast.Attribute) and parent.attr in _ACCOUNTED_ATTRS):
                raise _Unaccounted
            return
        if not isinstance(node, ast.Name):
            return
        scope, bound, in_class_body = _scope_of(node, parents)
        tables = self.tables(module)
        fact = tables.scopes.get(scope) if tables is not None else None
        if fact is None or fact.cls != cls.defn.qualname or not fact.is_classmethod or node.id != fact.params[0]:
            return
        if node.id in bound or in_class_body:
            raise _Unaccounted
        parent = parents.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            yield parent, (module, scope), bound
        elif not (isinstance(parent, ast.Attribute) and not parent.attr.startswith("__")):
            raise _Unaccounted  # `cls` handed on: it may be called elsewhere

    # -- one call's arguments --------------------------------------------------------------------------
    def _read_call(
        self,
        call: ast.Call,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        skip: int,
        where: tuple[str, str],
        bound: frozenset[str],
        module: str,
        defn: DefFact,
        values: dict[str, list[Value]],
    ) -> None:
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            raise _Unaccounted
        args = node.args
        every = [a.arg for a in (*args.posonlyargs, *args.args)]
        positional = every[skip:]
        defaults: dict[str, ast.expr] = dict(zip(every[len(every) - len(args.defaults) :], args.defaults, strict=True))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None})
        if len(call.args) > len(positional) and args.vararg is None:
            raise _Unaccounted  # a TypeError: not a call that runs the body
        given: dict[str, ast.expr] = dict(zip(positional, call.args, strict=False))
        given.update({k.arg: k.value for k in call.keywords if k.arg is not None})
        for param in (*positional, *(a.arg for a in args.kwonlyargs)):
            expr = given.get(param)
            if expr is not None:
                value = UNKNOWN if _bound_root(expr, bound) else self._argument(where[0], where[1], expr)
            elif param in defaults:
                value = self._argument(module, class_scope(defn), defaults[param])
            else:
                raise _Unaccounted
            values.setdefault(param, []).append(value)

    def _argument(self, module: str, scope: str, expr: ast.expr) -> Value:
        if isinstance(expr, ast.Constant) and expr.value is None:
            return NONE  # gives way in the merge, as an assigned `None` does
        return self._value(module, scope, ref_of(expr))


def _scope_of(node: ast.AST, parents: dict[int, ast.AST]) -> tuple[str, frozenset[str], bool]:
    """The function scope ``node`` is resolved in (as the facts name it), the names lambdas and
    comprehensions around it bind, and whether it sits in a class body (outside any def)."""
    names: list[str] = []
    kinds: list[str] = []
    bound: set[str] = set()
    child: ast.AST = node
    parent = parents.get(id(node))
    in_class_body: bool | None = None
    while parent is not None:
        if isinstance(parent, _FUNCS) and child in parent.body:
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


def _bound_root(expr: ast.AST, bound: frozenset[str]) -> bool:
    return bool(bound) and any(isinstance(n, ast.Name) and n.id in bound for n in ast.walk(expr))


def _in_annotation(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    child, parent = node, parents.get(id(node))
    while parent is not None:
        if isinstance(parent, ast.arg) and child is parent.annotation:
            return True
        if isinstance(parent, _FUNCS) and child is parent.returns:
            return True
        if isinstance(parent, ast.AnnAssign) and child is parent.annotation:
            return True
        child, parent = parent, parents.get(id(parent))
    return False


def _isinstance_class(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
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


def _is_type_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "type"
        and len(node.args) == 1
    )


def _in_all(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
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


__all__ = ["Callers", "Parsed"]
