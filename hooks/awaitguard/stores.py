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

**Methods replaced from outside.** `sink.write = plain_write` (at module level, in another function) or
`setattr(sink, "write", ...)` makes what `sink.write(...)` calls the value assigned, not the class's def. A
method found on a class is then judged by its def only when every such store the project makes (whose receiver
is not `self`/`cls`: the instance's own attributes are ``members.Members._hidden``'s) either has a receiver that
is a known class or instance unrelated to the method's class, or assigns a value whose call is as awaitable as
the def's (``replaced_outside``). The stores are found once per project by a byte search, and a name's stores
are read from the parsed files naming it. Test code is not searched, and a mock stored elsewhere (a helper
module of the tests) does not count: a test's stand-in (`client.fetch = Mock()`) does not change what the code
under test calls in production, and AG202 judges it against the def.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from awaitguard.callers import _MAX_FILES, Callers
from awaitguard.callsites import Unaccounted as _Unaccounted
from awaitguard.callsites import bound_root as _bound_root
from awaitguard.callsites import scope_of as _scope_of
from awaitguard.layout import is_test_code
from awaitguard.lineage import class_key
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
# `x.name = ...` (an annotation between allowed) or `setattr(x, "name", ...)`: the attribute's name, group 1 or 2
# `x.name = ...` (led by its literal `.`) and `setattr(x, "name", ...)` (its word boundary checked on each match: a
# pattern led by `\b`, or the two as one alternation, is tried at every byte and cost a scan 0.3 s on 20 MB)
_DOT_STORE = re.compile(rb"\.([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)")
_SETATTR_STORE = re.compile(rb"setattr\([^,()]*,[ \t]*[\"']([A-Za-z_]\w*)[\"']")
_DOUBLES = frozenset({"syncmock", "asyncmock", "syncmock-class", "asyncmock-class"})  # `Mock()`, `AsyncMock` ...
_OWN = (b"self", b"cls")  # `self.name = ...`: the instance's own attribute (``members.Members._hidden``)


class Stores(Callers):
    _filled: dict[tuple[str, str, str], Value]

    # ``replaced_outside``: per name stored from outside a class, the files storing it (by their bytes; None: not
    # searched yet), and its stores, once read
    _outside_paths: dict[str, list[str]] | None
    _outside: dict[str, tuple[tuple[Value, Value | None], ...]]

    def replaced_outside(self, owner: Value, found: Value, name: str) -> bool:
        """Whether the project may replace the method ``name`` (``found``, on ``owner``'s class) from outside the
        class with a value whose call is not as awaitable as the def's (see the module's docstring)."""
        for stored in self._stored_on(owner, name):
            if stored is None:
                return True
            mine, theirs = self.call(found), self.call(stored)
            if not (mine.is_coroutine() and theirs.is_coroutine()) and (
                mine.awaitable() is None or mine.awaitable() != theirs.awaitable()
            ):
                return True
        return False

    def storing_paths(self, name: str) -> list[str]:
        """The project's files (test code aside) that store the attribute ``name`` from outside a class."""
        self._stores_of(name)  # (finds them once per project)
        return list((self._outside_paths or {}).get(name, ()))

    def stored_outside(self, owner: Value, name: str) -> bool:
        """Whether the project stores ``name`` on an object that may be ``owner`` from outside its class: the
        method's parameters are then not the only ones a call of it may bind."""
        return any(True for _ in self._stored_on(owner, name))

    def _stored_on(self, owner: Value, name: str) -> Iterator[Value | None]:
        """The values the project stores as ``name`` from outside a class on receivers that may be ``owner``."""
        for receiver, stored in self._stores_of(name):
            if stored is not None and stored.kind in _DOUBLES:
                continue  # a test double (built in a helper module outside the tests): AG202 judges it
            known = receiver.kind in ("instance", "class") and receiver.defn is not None
            if not known or self._related(owner, receiver):
                yield stored

    def _related(self, one: Value, other: Value) -> bool:
        """Whether one of the two classes (of instances) is in the other's MRO."""
        keys = ({class_key(c) for c, _ in self._mro(v) if c.defn is not None} for v in (one, other))
        mine, theirs = next(keys), next(keys)
        return class_key(one) in theirs or class_key(other) in mine

    def _stores_of(self, name: str) -> tuple[tuple[Value, Value | None], ...]:
        """The project's stores of the attribute ``name`` from outside a class (see the module's docstring): each
        as the receiver and the value stored, resolved where the store is (None: not known what)."""
        if self._outside_paths is None:
            self._outside_paths = {}
            for path, data in sorted(self._all_bytes().items()):
                if is_test_code(path) or path not in self.index.path_modules:
                    continue  # a test's stand-in (`client.fetch = Mock()`): AG202 judges it against the def
                for word in _stored_names(data):
                    self._outside_paths.setdefault(word, []).append(path)
        storing = self._outside_paths.get(name)
        if not storing:
            return ()
        known = self._outside.get(name)
        if known is not None:
            return known
        self._outside[name] = ((UNKNOWN, None),)  # while they are being read: unknown
        found: list[tuple[Value, Value | None]] = []
        for path in storing:
            parsed, entry = self._parse(path), self.index.path_modules.get(path)
            if parsed is None or entry is None:
                found.append((UNKNOWN, None))
                continue
            for node in parsed.named.get(name, ()):
                store = _store(node, parsed.parents, name)
                if store is not None:
                    found.append(self._store_values(entry[0], parsed.parents, *store))
        self._outside[name] = stores = tuple(found)
        return stores

    def _store_values(
        self, module: str, parents: dict[int, ast.AST], holder: ast.AST, receiver: ast.expr, value: ast.expr | None
    ) -> tuple[Value, Value | None]:
        scope, bound, in_class_body = _scope_of(holder, parents)
        owner = UNKNOWN if _bound_root(receiver, bound) else self._value(module, scope, ref_of(receiver))
        if value is None or in_class_body or _bound_root(value, bound):
            return owner, None
        return owner, self._value(module, scope, ref_of(value))

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


def _store(node: ast.AST, parents: dict[int, ast.AST], name: str) -> tuple[ast.AST, ast.expr, ast.expr | None] | None:
    """An occurrence of ``name`` that stores the attribute on a receiver other than `self`/`cls`: the statement or
    call, the receiver and the value stored (None: not one value); None for any other occurrence."""
    parent = parents.get(id(node))
    if isinstance(node, ast.Constant):  # `setattr(x, "name", value)`
        if not (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "setattr"):
            return None
        if len(parent.args) < 2 or parent.args[1] is not node:
            return None
        return parent, parent.args[0], parent.args[2] if len(parent.args) == 3 else None
    if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Store):
        return None
    if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
        return None
    if isinstance(parent, ast.Assign) and node in parent.targets:
        return parent, node.value, parent.value
    if isinstance(parent, ast.AnnAssign) and parent.target is node:
        return parent, node.value, parent.value
    holder = parent
    while holder is not None and not isinstance(holder, ast.stmt):
        holder = parents.get(id(holder))
    return (holder or node), node.value, None  # `a.name, b = ...`, `for x.name in ...`, `x.name += 1`


# ``_stored_names`` per file's bytes, shared by every resolver of a process: a diff-scoped scan's resolvers of the
# index and of HEAD (and their twins) meet the same bytes, and the search is a fifth of a second per 20 MB
_STORED_NAMES: dict[bytes, tuple[str, ...]] = {}
_STORED_NAMES_LIMIT = 200_000


def _stored_names(data: bytes) -> tuple[str, ...]:
    """The attribute names ``data`` stores from outside a class (`x.name = ...` on a receiver other than
    `self`/`cls`, `setattr(x, "name", ...)`), each once, in the order first met."""
    found = _STORED_NAMES.get(data)
    if found is None:
        words: dict[bytes, None] = {}
        for match in _DOT_STORE.finditer(data):
            start = match.start()
            if not any(
                data[start - len(o) : start] == o and not _ident(data[start - len(o) - 1 : start - len(o)])
                for o in _OWN
            ):
                words[match.group(1)] = None
        for match in _SETATTR_STORE.finditer(data):
            if not _ident(data[match.start() - 1 : match.start()]):
                words[match.group(1)] = None
        if len(_STORED_NAMES) > _STORED_NAMES_LIMIT:
            _STORED_NAMES.clear()  # a long-lived process meets files without end
        found = _STORED_NAMES[data] = tuple(word.decode() for word in words)
    return found


def _ident(byte: bytes) -> bool:
    """Whether ``byte`` (one, or none at the start of a file) may be part of an identifier."""
    return bool(byte) and (byte.isalnum() or byte == b"_")
