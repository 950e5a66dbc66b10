"""Names: a name in a scope, through local bindings, parameters, imports, re-exports and globals,
and a module's or a class's attribute.

A name is looked up scope by scope outwards (``_lookup``), then among the module's globals, which
are memoised and are ``UNKNOWN`` while being resolved (an import cycle). A parameter is what its
annotation declares, or the class for `self`/`cls`; an unannotated one, what every call of its def
in the project passes (``callers.py``). Several bindings of one name merge into one
value only when they agree (a `None` default gives way to the other value). A module-level name defined by
several defs (both branches of `if PYDANTIC2: ... else: ...`) is known only when they are `async def`s alike
(``_alike_async_defs``): whichever one a use gets, calling it makes a coroutine and binds the same parameters.
"""

from __future__ import annotations

from awaitguard.known import KNOWN, MOCK_MODULES, PLAIN_BASES
from awaitguard.model import DefFact, ImportFact, ModuleFacts, Ref, ScopeFact
from awaitguard.refs import BUILTIN_NAMES
from awaitguard.resolving import NONE, Resolving, Tables, class_scope, overloads_value, stub_overloads
from awaitguard.values import ABC_BASES, UNKNOWN, Value


class Lookup(Resolving):
    def lookup(self, module: str, qualname: str) -> Value:
        """``module.qualname`` (``Class.method`` included), followed through imports and re-exports."""
        current = self._module_value(module)
        for attr in qualname.split("."):
            current = self.attribute(current, attr)
            if current.kind in ("unknown", "overloads"):  # overloads: only a call site chooses
                return UNKNOWN
        return current

    def _module_value(self, name: str) -> Value:
        if name in MOCK_MODULES and not self.index.has_module(name):
            # never read (libraries.SKIPPED): its doubles are KNOWN by name (`mock.AsyncMock`, `unittest.mock.Mock`)
            return Value("external", name=name, resolver=self)
        if self.index.has_module(name) or self.index.in_library(name):
            return Value("module", module=name, name=name, resolver=self)
        return Value("external", name=name, resolver=self)

    def _local_def(self, module: str, qualname: str) -> Value:
        tables = self.tables(module)
        if tables is None:
            return UNKNOWN
        defs = tables.defs.get(qualname, [])
        if len(defs) != 1:
            return UNKNOWN
        return self._def_value(tables.facts, defs[0])

    def _def_value(self, facts: ModuleFacts, defn: DefFact) -> Value:
        kind = "class" if defn.kind == "class" else "function"
        return Value(kind, module=facts.module, path=facts.path, defn=defn, resolver=self)

    def _merge(self, values: list[Value]) -> Value:
        if not values:
            return UNKNOWN
        if len(values) > 1 and any(v is NONE for v in values):
            # `None` never poisons a merge: `self.proc = None` here, `self.proc = Proc()` there
            values = [v for v in values if v is not NONE] or values
        first = values[0]
        for other in values[1:]:
            if (other.kind, other.module, other.defn, other.name) != (first.kind, first.module, first.defn, first.name):
                return UNKNOWN
            if (other.members, other.container) != (first.members, first.container):
                return UNKNOWN  # unions of other members, containers of other items
        return first

    def _stored(self, module: str, scope: str, ref: Ref, attr: str) -> Value | None:
        """What `self.attr = <ref>` in the method ``scope`` stores; None when it is the attribute itself, which
        adds nothing to what the attribute holds: `self.conn = self.conn or connect()`, and a local copy stored
        back (`conn = self.conn`, `if not conn: conn = await pool.get()`, `self.conn = conn`), where the local
        holds what its other bindings hold (read without this, the copy is a cycle, and unknown)."""
        tables = self.tables(module)
        method = tables.scopes.get(scope) if tables is not None else None
        if tables is None or method is None or not method.cls or method.is_static or not method.params:
            return self._value(module, scope, ref)
        itself = (f"n:{method.params[0]}", f".{attr}")
        if ref == itself:
            return None
        local = ref[0][2:] if len(ref) == 1 and ref[0][:2] == "n:" else ""
        refs = tables.scope_bindings(method).get(local) if local and local not in method.params else None
        if not refs or itself not in refs or tables.imports.get((scope, local)):
            return self._value(module, scope, ref)
        others = [self._value(module, scope, r) for r in refs if r != itself]
        return self._merge(others) if others else None

    def _lookup(self, module: str, scope: str, name: str) -> Value:
        tables = self.tables(module)
        if tables is None:
            return UNKNOWN
        current = tables.scopes.get(scope) if scope else None
        while current is not None:
            if name in current.params:
                return self._param(tables, current, name)
            refs = tables.scope_bindings(current).get(name)
            imports = tables.imports.get((current.qualname, name))
            if refs or imports:
                values = [self._value(module, current.qualname, r) for r in refs or ()]
                values += [self._import_value(i) for i in imports or ()]
                return self._merge(values)
            current = tables.scopes.get(current.parent) if current.parent else None
        return self._global(tables, name)

    def _param(self, tables: Tables, scope: ScopeFact, name: str) -> Value:
        if not scope.cls or scope.is_static or scope.params[0] != name:
            for param, ref in scope.annotations:
                if param == name:  # `session: AsyncSession`: an instance of the declared class
                    return self._value(tables.facts.module, scope.parent, ref)
            # unannotated: what every call the project makes passes (``callers.py``), else unknown
            return self._param_from_callers(tables.facts.module, scope.qualname, name)
        defs = tables.defs.get(scope.cls, [])
        if len(defs) != 1:
            return UNKNOWN
        cls = self._def_value(tables.facts, defs[0])
        if scope.is_classmethod:
            return Value("class", module=cls.module, path=cls.path, defn=cls.defn, self_ref=True, resolver=self)
        return Value("instance", module=cls.module, path=cls.path, defn=cls.defn, self_ref=True, resolver=self)

    def _global(self, tables: Tables, name: str) -> Value:
        """A module-level name: memoised, and UNKNOWN while it is being resolved (import cycles)."""
        key = (tables.facts.module, name)
        found = self._globals.get(key)
        if found is not None:
            return found
        if key in self._globals_busy:
            return self.cut_short()
        self._globals_busy.add(key)
        try:
            found = self._global_uncached(tables, name)
        finally:
            self._globals_busy.discard(key)
        self._globals[key] = found
        return found

    def _global_uncached(self, tables: Tables, name: str) -> Value:
        facts = tables.facts
        defs = tables.defs.get(name, [])
        if stub_overloads(facts, defs):  # a call chooses (``overloads.choose``)
            values = [overloads_value(facts, defs, False)]
        elif len(defs) > 1 and _alike_async_defs(facts, defs):
            values = [self._def_value(facts, defs[0])]
        else:
            values = [self._def_value(facts, d) for d in defs]
        values += [self._import_value(i) for i in tables.imports.get(("", name), [])]
        values += [self._value(facts.module, "", r) for r in tables.bindings.get(name, [])]
        if values:
            return self._merge(values)
        for star in facts.star_imports:
            found = self.attribute(self._module_value(star), name)
            if found.kind != "unknown":
                return found
        if facts.star_imports:
            return UNKNOWN
        if name in KNOWN:
            return Value("external", name=name, resolver=self)
        return UNKNOWN

    def _import_value(self, imp: ImportFact) -> Value:
        if not imp.name:
            return UNKNOWN
        if imp.attr is None:
            return self._module_value(imp.module)
        return self.attribute(self._module_value(imp.module), imp.attr)

    def _own_super(self, module: str, scope: str, args: str) -> bool:
        """Whether `super(C, x)` (``args`` "C:x") in the method ``scope`` is its `super()`: C names the enclosing
        class (looked up from the method) and x is the method's first parameter."""
        tables = self.tables(module)
        current = tables.scopes.get(scope) if tables is not None and scope else None
        cls, _, first = args.partition(":")
        if tables is None or current is None or not current.cls or current.is_static or current.params[:1] != (first,):
            return False
        named = self._lookup(module, scope, cls)
        defn = named.defn if named.kind == "class" else None
        return defn is not None and named.module == module and defn.qualname == current.cls

    def _super(self, module: str, scope: str) -> Value:
        tables = self.tables(module)
        current = tables.scopes.get(scope) if tables else None
        if tables is None or current is None or not current.cls:
            return UNKNOWN
        defs = tables.defs.get(current.cls, [])
        if len(defs) != 1 or not defs[0].bases:
            return UNKNOWN
        base = self._value(module, class_scope(defs[0]), defs[0].bases[0])
        if base.kind != "class" or base.defn is None:
            return UNKNOWN
        return Value("instance", module=base.module, path=base.path, defn=base.defn, self_ref=True, resolver=self)

    def attribute(self, value: Value, name: str) -> Value:
        kind = value.kind
        if kind == "module":
            full = f"{value.name}.{name}"
            # `typing.List` too, and `typing.Iterator` (a base whose members are known: ``ABC_BASES``)
            well_known = full in KNOWN or full in PLAIN_BASES or full in BUILTIN_NAMES or full in ABC_BASES
            if well_known and not self.index.has_module(value.name):
                return Value("external", name=full, resolver=self)  # a well-known name: the table decides
            return self._module_attr(value.name, name)
        if kind == "external":
            if name in ("AsyncMock", "MagicMock", "Mock"):
                return Value("external", name=f"unittest.mock.{name}", resolver=self)
            return Value("external", name=f"{value.name}.{name}", resolver=self)
        if kind in ("class", "instance") and value.defn is not None:
            return self._member(value, name)
        if kind == "union":
            return self._union_member(value, name)
        if kind == "builtin" and value.container and name in ("get", "pop", "setdefault"):  # its items: from its stores
            value = self._stored_items(value)
            kind = value.kind
        if kind == "many":
            return self._item_method(value, name)
        if kind == "unknown" and name in ("AsyncMock", "MagicMock", "Mock"):
            return Value("external", name=f"unittest.mock.{name}", resolver=self)
        return UNKNOWN

    def _module_attr(self, module: str, name: str) -> Value:
        if f"{module}.{name}" in MOCK_MODULES:  # `from unittest import mock`
            return self._module_value(f"{module}.{name}")
        # a library module whose source never holds the word (nor a `*` import) binds no such name: not parsed
        skip = name not in KNOWN and self.index.lacks(module, name)
        tables = None if skip else self.tables(module)
        if tables is not None:
            found = self._global(tables, name)
            if found.kind != "unknown":
                return found
        sub = f"{module}.{name}"
        if self.index.has_module(sub) or self.index.in_library(sub):
            return self._module_value(sub)
        return UNKNOWN


def _alike_async_defs(facts: ModuleFacts, defs: list[DefFact]) -> bool:
    """Whether the defs a module makes of one name are all `async def`s that are no generators, with the same
    decorators, parameters, declared result and returned expressions (as written), and the same signature."""
    first = defs[0]
    if first.kind != "function" or not first.is_async or first.is_generator:
        return False

    def shape(d: DefFact) -> tuple[object, ...]:
        return (d.kind, d.is_async, d.is_generator, d.decorators, d.params, d.returns_annotation, d.returns)

    if any(shape(d) != shape(first) or d.returns_param != first.returns_param for d in defs[1:]):
        return False
    signatures = {
        (s.params, s.annotations, s.positional, s.varargs, s.varkw, s.is_static, s.is_classmethod)
        for s in facts.scopes
        if s.qualname == first.qualname
    }
    return len(signatures) == 1
