"""Attributes the project fills: what the items of a container declared without item types are, from every store
the project makes into it, and what traitlets' `Instance(klass)` holds when read through an instance.

**Items from stores.** A class attribute declared as a bare builtin container in the class body (`_open: dict =
{}`: no item type; an instance's own, declared on `self`, is not followed: each costs a search of the project)
holds, in every run of the project's own code, what the project stores into it, when all of this
holds (else its items stay unknown):

- every binding of the attribute in its class is such a declaration (``members.Members._attr_value``);
- the project's files naming the attribute (a whole-word search, at most ``callers._MAX_FILES`` of them) all
  parse, and every occurrence of the name, whatever its receiver, is accounted for: a store of an item
  (`x.name[key] = value`, `x.name.append(value)`, `.add`, `.insert`, `.setdefault`), a read that keeps the
  container where it is (`x.name[key]`, `x.name.get(...)`, `.pop`, `.keys()`, `.values()`, `.items()`, `del
  x.name[key]`, `key in x.name`, `len(x.name)`, a `for` over it, a truth test), the class's own declaration, or
  a new empty container bound to it (`self.name = {}`). Any other use (the container handed to a call, bound to
  a name, returned, merged with `update`/`extend`, a string naming it, another class defining the name) may
  store anything, unseen;
- every stored value resolves, in the scope of its store, to an instance of one class (an assigned `None`
  gives way, as elsewhere), and at least one store is seen.

The container then reads as one declared with that item (`dict[Any, Handler]`: ``containers.py``).

**traitlets' `Instance(klass)`**, a class attribute of a `HasTraits` class, is a descriptor: read through an
instance it gives the value set, which traitlets checks is an instance of ``klass`` (or `None` when allowed):
read through an instance, it is what an annotation ``klass`` declares. A ``klass`` named by a string is not
followed.
"""

from __future__ import annotations

import ast
import re

from awaitguard.callers import _MAX_FILES, Callers
from awaitguard.callsites import Unaccounted as _Unaccounted
from awaitguard.callsites import bound_root as _bound_root
from awaitguard.callsites import scope_of as _scope_of
from awaitguard.model import Ref, is_call
from awaitguard.refs import ref_of
from awaitguard.resolving import NONE
from awaitguard.values import UNKNOWN, Value

BARE_CONTAINERS = frozenset({"#builtin:dict", "#builtin:list", "#builtin:set"})
TRAIT_INSTANCE = frozenset({"traitlets.Instance", "traitlets.traitlets.Instance"})
# a container's methods that read it, or take items out, and give nothing in
_READS = frozenset(
    {"get", "pop", "keys", "values", "items", "clear", "copy", "index", "count", "remove", "discard", "popitem"}
)
_ADDS = {"append": 0, "add": 0, "insert": 1, "setdefault": 1}  # a method storing an item: its argument's position
# what may follow the name at the end of a line, before a comma, an operator, or a method not above: it is handed
# on, bound to a name, returned, merged (`x = self.name`, `f(self.name, 1)`, `self.name.update(...)`)
_ESCAPES = rb"[ \t]*(?:[,;#\n\r+\-*/%|&^}]|\.(?!(?:" + "|".join(sorted(_READS | set(_ADDS))).encode() + rb")\b))"
_VIEWS = frozenset({"len", "bool", "list", "tuple", "sorted", "set", "iter", "any", "all", "reversed", "enumerate"})


class Stores(Callers):
    _filled: dict[tuple[str, str, str], Value]

    def _stored_items(self, value: Value) -> Value:
        """For a bare container attribute (``value``, whose ``container`` is "@<module>:<class>:<name>",
        ``members.bare_container``): the container as declared with the item every store gives (``_many``);
        ``value`` itself when that is not known."""
        module, qualname, name = value.container[1:].split(":")
        key = (module, qualname, name)
        found = self._filled.get(key)
        if found is None:
            self._filled[key] = UNKNOWN  # a store of the container's own item into it: a cycle, unknown
            tables = self.tables(module)
            defs = tables.defs.get(qualname, []) if tables is not None else []
            try:
                found = self._items_of(self._def_value(tables.facts, defs[0]), name) if tables and defs else UNKNOWN
            except _Unaccounted:
                found = UNKNOWN
            self._filled[key] = found
        if found.kind != "instance" or found.defn is None:
            return value
        return self._many(found, value.name)

    def _items_of(self, cls: Value, name: str) -> Value:
        # before the project is searched and any file parsed: an occurrence the bytes show is no store or read
        escape = re.compile(rb"\b" + re.escape(name.encode()) + _ESCAPES)
        own = self.index.tree.read([cls.path]).get(cls.path, b"")
        if escape.search(own):
            return UNKNOWN
        paths = self._mentioning(name)
        if not paths or len(paths) > _MAX_FILES or cls.path not in paths:
            return UNKNOWN
        blobs = self.index.tree.read(paths) if self._project_bytes is None else self._project_bytes
        if any(escape.search(blobs.get(path, b"")) for path in paths):
            return UNKNOWN
        found: list[Value] = []
        for path in paths:
            parsed = self._parse(path)
            entry = self.index.path_modules.get(path)
            if parsed is None or entry is None:
                raise _Unaccounted
            for node in parsed.named.get(name, ()):
                stored = self._occurrence_stores(node, parsed.parents, entry[0], cls, name)
                if stored is not None:
                    found.append(stored)
        merged = self._merge(found) if found else UNKNOWN
        return merged if merged is not NONE else UNKNOWN

    def _occurrence_stores(
        self, node: ast.AST, parents: dict[int, ast.AST], module: str, cls: Value, name: str
    ) -> Value | None:
        """What one occurrence of ``name`` stores into the container (None for a read); raises ``_Unaccounted``."""
        parent = parents.get(id(node))
        if isinstance(node, ast.Constant):
            raise _Unaccounted  # `getattr(obj, "name")`
        if isinstance(node, ast.Name):
            _, _, in_class_body = _scope_of(node, parents)
            if isinstance(node.ctx, ast.Load) or not in_class_body:
                return None  # a local variable of that name: another thing
            owner = parents.get(id(parent)) if isinstance(parent, (ast.Assign, ast.AnnAssign)) else None
            assert cls.defn is not None
            if module == cls.module and isinstance(owner, ast.ClassDef) and owner.lineno == cls.defn.line:
                return None  # the class's own declaration
            raise _Unaccounted  # another class binds the name
        assert isinstance(node, ast.Attribute)
        if isinstance(node.ctx, ast.Store):
            if isinstance(parent, ast.Assign) and _empty(parent.value):
                return None  # a new empty container
            raise _Unaccounted
        if not isinstance(node.ctx, ast.Load):
            raise _Unaccounted
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if isinstance(parent.ctx, (ast.Load, ast.Del)):
                return None
            holder = parents.get(id(parent))
            if isinstance(holder, ast.Assign) and parent in holder.targets:
                return self._stored_value(holder.value, holder, parents, module)
            raise _Unaccounted  # `x.name[key] += 1`, a `for` target ...
        if isinstance(parent, ast.Attribute):
            call = parents.get(id(parent))
            if not (isinstance(call, ast.Call) and call.func is parent) or call.keywords:
                raise _Unaccounted  # `x.name.get` handed on
            if parent.attr in _READS:
                return None
            at = _ADDS.get(parent.attr)
            if at is None or any(isinstance(a, ast.Starred) for a in call.args):
                raise _Unaccounted  # `update`, `extend` ...
            if len(call.args) <= at:
                return NONE if parent.attr == "setdefault" else None
            return self._stored_value(call.args[at], call, parents, module)
        if isinstance(parent, ast.Compare) or (isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not)):
            return None  # `key in x.name`, `not x.name`
        if isinstance(parent, (ast.If, ast.While, ast.IfExp)) and parent.test is node:
            return None  # a truth test
        if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)) and parent.iter is node:
            return None
        if isinstance(parent, ast.Call) and node in parent.args and isinstance(parent.func, ast.Name):
            if parent.func.id in _VIEWS:
                return None
        raise _Unaccounted  # handed on, bound to a name, returned ...

    def _stored_value(self, expr: ast.expr, holder: ast.AST, parents: dict[int, ast.AST], module: str) -> Value:
        scope, bound, in_class_body = _scope_of(holder, parents)
        if in_class_body or _bound_root(expr, bound):
            raise _Unaccounted
        if isinstance(expr, ast.Constant) and expr.value is None:
            return NONE
        return self._value(module, scope, ref_of(expr))

    def _trait_instance(self, cls: Value, name: str, scope: str, ref: Ref) -> Value | None:
        """`handler = Instance(WebSocketHandler)` in ``cls``'s body (``ref``, read in ``scope``), read through an
        instance: an instance of the class its ``klass`` names; None when ``ref`` is no call of `Instance`."""
        if len(ref) < 2 or not is_call(ref[-1]) or ref[-2].lstrip(".").removeprefix("n:") != "Instance":
            return None
        callee = self._value(cls.module, scope, ref[:-1])
        qualified = callee.name if callee.kind == "external" else ""
        if callee.kind == "class" and callee.defn is not None:
            qualified = f"{callee.module}.{callee.defn.qualname}"
        if qualified not in TRAIT_INSTANCE:
            return None
        parsed = self._parse(cls.path)
        assert cls.defn is not None
        short = cls.defn.qualname.rsplit(".", 1)[-1]
        for body in parsed.defined.get(cls.defn.line, ()) if parsed is not None else ():
            if not isinstance(body, ast.ClassDef) or body.name != short:
                continue
            for stmt in body.body:
                if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or not isinstance(stmt.value, ast.Call):
                    continue
                target, call = stmt.targets[0], stmt.value
                if not (isinstance(target, ast.Name) and target.id == name):
                    continue
                given = call.args[:1] or [k.value for k in call.keywords if k.arg == "klass"]
                klass = ref_of(given[0]) if given and isinstance(given[0], (ast.Name, ast.Attribute)) else ()
                return self._value(cls.module, scope, (*klass, "#inst")) if klass else UNKNOWN
        return UNKNOWN


def _empty(expr: ast.expr) -> bool:
    """`{}`, `[]`, `dict()`, `list()`, `set()`."""
    if isinstance(expr, ast.Dict):
        return not expr.keys
    if isinstance(expr, ast.List):
        return not expr.elts
    return (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id in ("dict", "list", "set")
        and not expr.args
        and not expr.keywords
    )
