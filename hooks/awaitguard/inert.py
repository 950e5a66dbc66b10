"""A class handed on as a value, for ``callers.py``'s search: whether every use the value reaches builds nothing.

The callers' search accounts for each occurrence of a class's name; one that hands the class on (assigns it,
passes it to a function) may let an instance be built unseen, and leaves the parameters unknown. Some of those
are followed here, and accounted for when the value, wherever it goes, is only read:

- where it goes: a branch of a conditional expression, an item of a `{...}`, `(...)` or `[...]` display that
  is subscripted at once (`{"msg": Message, "client": Client}[kind]`), then a local name of a def (a single
  name assigned, not `global`/`nonlocal` anywhere in that def) or an argument of a call of a project function
  (undecorated, resolved to its one def, the argument bound to one of its parameters, not to `*args` or
  `**kwargs`), a few calls deep;
- every read of that local name or parameter, anywhere in the def (in nested defs, lambdas and
  comprehensions too), is one of: `dir(x)`, `hasattr(x, ...)`, `isinstance(..., x)`, `issubclass(...)`, an
  attribute read (`x.name`, `getattr(x, "name")`; not a dunder but `__name__`, `__qualname__`, `__module__`
  and `__doc__`), or again one of the places above. A class's own methods that build it (`cls(...)`) are read
  by the search already, as for `Draft._from_update(...)`;
- `getattr(x, name)` with a computed name may return anything of the class (`__init__`, `__call__`): its
  result must go to a local name read only for those four dunders (or handed to `getattr` the same way);
- the def never calls `locals`, `vars`, `eval` or `exec` (which read its names unseen).

Anything else (called, returned, yielded, stored in an attribute or a container, a module-level name) is a use
that may build it.
"""

from __future__ import annotations

import ast
from abc import abstractmethod

from awaitguard.callsites import ACCOUNTED_ATTRS, FUNCS, Parsed, bound_root, scope_of
from awaitguard.refs import ref_of
from awaitguard.resolving import Resolving

_DEPTH = 3  # project functions the value is followed into, at most
_READERS = frozenset({"locals", "vars", "eval", "exec"})  # calls that read a def's names without naming them
_Def = ast.FunctionDef | ast.AsyncFunctionDef


class Inert(Resolving):
    """The part of the callers' search that follows a class handed on as a value."""

    @abstractmethod
    def _parse(self, path: str) -> Parsed | None: ...

    def _only_read(self, node: ast.expr, parents: dict[int, ast.AST], module: str) -> bool:
        """Whether the class value at ``node`` (in a module of the project) reaches only uses building nothing."""
        return self._sink(node, parents, module, False, 0, set())

    def _sink(
        self,
        node: ast.expr,
        parents: dict[int, ast.AST],
        module: str,
        strict: bool,
        depth: int,
        seen: set[tuple[int, str, bool]],
    ) -> bool:
        """Whether the value ``node`` may hold goes only where nothing is built (``strict``: where nothing of
        it but the four accounted dunders is read)."""
        node, parent = _climbed(node, parents)
        if isinstance(parent, ast.Attribute) and parent.value is node and isinstance(parent.ctx, ast.Load):
            return parent.attr in ACCOUNTED_ATTRS or not (strict or parent.attr.startswith("__"))
        if isinstance(parent, ast.Assign) and parent.value is node:
            return self._local(parent, parents, module, strict, depth, seen)
        if not isinstance(parent, ast.Call) or node is parent.func:
            return False
        func = parent.func
        builtin = func.id if isinstance(func, ast.Name) else ""
        args = parent.args
        first = len(args) == 2 and args[0] is node and not parent.keywords
        if builtin in ("isinstance", "issubclass"):
            return len(args) == 2 and (args[1] is node or (builtin == "issubclass" and args[0] is node))
        if builtin == "dir":
            return len(args) == 1 and args[0] is node and not parent.keywords
        if builtin == "hasattr":
            return first
        if builtin == "getattr":  # `getattr(x, name)`, `getattr(x, name, default)`
            if len(args) not in (2, 3) or args[0] is not node or parent.keywords:
                return False
            name = parent.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                return name.value in ACCOUNTED_ATTRS or not (strict or name.value.startswith("__"))
            return self._sink(parent, parents, module, True, depth, seen)  # anything of the class
        if strict or depth >= _DEPTH:
            return False
        return self._passed_into(parent, node, parents, module, depth, seen)

    def _local(
        self,
        assign: ast.Assign,
        parents: dict[int, ast.AST],
        module: str,
        strict: bool,
        depth: int,
        seen: set[tuple[int, str, bool]],
    ) -> bool:
        """`name = <value>` in a def: every read of ``name`` in that def goes where nothing is built."""
        if len(assign.targets) != 1 or not isinstance(assign.targets[0], ast.Name):
            return False
        owner = parents.get(id(assign))
        while owner is not None and not isinstance(owner, (*FUNCS, ast.ClassDef, ast.Module, ast.Lambda)):
            owner = parents.get(id(owner))
        if not isinstance(owner, FUNCS):
            return False  # a module's or a class's name: read from elsewhere
        return self._reads_only(owner, assign.targets[0].id, parents, module, strict, depth, seen)

    def _passed_into(
        self,
        call: ast.Call,
        node: ast.expr,
        parents: dict[int, ast.AST],
        module: str,
        depth: int,
        seen: set[tuple[int, str, bool]],
    ) -> bool:
        """``node`` passed to a project function (not a method): the parameter it binds is only read."""
        scope, bound, _ = scope_of(call, parents)
        if bound_root(call.func, bound):
            return False
        callee = self._value(module, scope, ref_of(call.func))
        defn = callee.defn
        tables = self.tables(callee.module) if callee.kind == "function" and defn is not None else None
        if defn is None or tables is None or callee.module not in self.index.modules or defn.decorators:
            return False
        fact = tables.scopes.get(defn.qualname)
        if len(tables.defs.get(defn.qualname, [])) != 1 or fact is None or fact.cls:
            return False
        parsed = self._parse(tables.facts.path)
        found = [n for n in parsed.defined.get(defn.line, ()) if isinstance(n, FUNCS)] if parsed else []
        if parsed is None or len(found) != 1 or found[0].name != defn.qualname.rsplit(".", 1)[-1]:
            return False
        param = _bound_param(call, node, found[0])
        if param is None:
            return False
        return self._reads_only(found[0], param, parsed.parents, callee.module, False, depth + 1, seen)

    def _reads_only(
        self,
        fn: _Def,
        name: str,
        parents: dict[int, ast.AST],
        module: str,
        strict: bool,
        depth: int,
        seen: set[tuple[int, str, bool]],
    ) -> bool:
        """Every read of ``name`` in ``fn`` (nested scopes too) goes where nothing is built."""
        key = (id(fn), name, strict)
        if key in seen:
            return True  # already being read: its other reads decide
        seen.add(key)
        for node in ast.walk(fn):
            if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
                return False
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _READERS:
                return False
        return all(
            self._sink(node, parents, module, strict, depth, seen)
            for node in ast.walk(fn)
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)
        )


def _climbed(node: ast.expr, parents: dict[int, ast.AST]) -> tuple[ast.expr, ast.AST | None]:
    """From ``node`` up through what passes its value on unchanged: a conditional expression's branch, an item
    of a display subscripted at once. The outermost such expression and its parent."""
    parent = parents.get(id(node))
    while True:
        if isinstance(parent, ast.IfExp) and node is not parent.test:
            node, parent = parent, parents.get(id(parent))
            continue
        if isinstance(parent, (ast.Dict, ast.Tuple, ast.List)):
            held = parent.values if isinstance(parent, ast.Dict) else parent.elts
            outer = parents.get(id(parent))
            if any(item is node for item in held) and isinstance(outer, ast.Subscript) and outer.value is parent:
                node, parent = outer, parents.get(id(outer))
                continue
        return node, parent


def _bound_param(call: ast.Call, node: ast.expr, fn: _Def) -> str | None:
    """The parameter of ``fn`` that ``node`` (an argument of ``call``) binds; None for `*args`/`**kwargs` or
    when a starred argument comes first."""
    args = fn.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    for at, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return None
        if arg is node:
            return positional[at] if at < len(positional) else None
    by_name = {a.arg for a in args.args} | {a.arg for a in args.kwonlyargs}
    for keyword in call.keywords:
        if keyword.value is node:
            return keyword.arg if keyword.arg in by_name else None
    return None
