"""Questions about a class's place among its relatives that only some rules ask: whether a method overrides
a base class's (a framework may call it and await what it returns), and whether a module rewrites a
class's coroutine methods at import into sync-or-async ones (``rewrites.py``)."""

from __future__ import annotations

from awaitguard.lineage import class_key, defines
from awaitguard.model import ModuleFacts
from awaitguard.resolving import Resolving
from awaitguard.values import ABC_BASES, Value


class Hierarchy(Resolving):
    _rewritten: list[Value] | None  # ``rewritten_to_sync``'s classes, found once (None: not yet)

    def rewritten_to_sync(self, value: Value) -> bool:
        """Whether ``value`` comes from a coroutine method of a class that a module of the project rewrites at
        import into a sync-or-async API (``rewrites.py``): dropping its result in sync code runs it."""
        source = value.origin
        if source is None or source.defn is None or source.defn.kind != "function":
            return False
        owner = source.defn.qualname.rpartition(".")[0]
        if not owner or "<locals>" in owner:
            return False
        if self._rewritten is None:
            self._rewritten = []
            for path in sorted(self.index.tree.grep({"iscoroutinefunction"})):
                facts = self.index.facts_for_path(path)
                if facts is None:
                    continue
                for ref in facts.rewrites:
                    cls = self._value(facts.module, "", ref)
                    if cls.kind == "class" and cls.defn is not None:
                        self._rewritten.append(cls)
        return any(
            cls.defn is not None and class_key(cls) == (source.module, owner)
            for rewritten in self._rewritten
            for cls, _ in self._mro(rewritten)
        )

    def overridden(self, facts: ModuleFacts, scope: str, name: str) -> Value | None:
        """The method that the method ``scope`` (`Handler.get`) overrides: the one `def` of ``name`` in the
        nearest class after its own along its C3 MRO. None when there is none, or it cannot be known: the
        class defined twice, a base unknown (no linear MRO), the name defined otherwise (an attribute, several
        defs, a `typing` base's mixin method)."""
        owner = scope.rpartition(".")[0]
        tables = self.tables(facts.module)
        if tables is None or not owner or "<locals>" in scope:
            return None
        classes = [d for d in tables.defs.get(owner, []) if d.kind == "class"]
        if len(classes) != 1:
            return None
        linear = self._linear(self._def_value(facts, classes[0]), [])
        for base in (linear or ())[1:]:
            if not defines(base, name):
                continue
            where = self.tables(base.module) if base.defn is not None else None
            defs = where.defs.get(f"{base.defn.qualname}.{name}", []) if where and base.defn else []
            if len(defs) != 1 or defs[0].kind != "function":
                return None
            return Value("function", module=base.module, path=base.path, defn=defs[0], resolver=self)
        return None

    def overrides_base(self, facts: ModuleFacts, scope: str) -> bool:
        """Whether the method ``scope`` (`Handler.get`) overrides a member of a base class, or its class has a
        base that cannot be known: the base's code (a framework) calls it, and may await what it returns."""
        owner, _, name = scope.rpartition(".")
        tables = self.tables(facts.module)
        if not owner or "<locals>" in scope or tables is None:
            return False
        classes = [d for d in tables.defs.get(owner, []) if d.kind == "class"]
        if len(classes) != 1:
            return bool(classes)
        for cls, complete in self._mro(self._def_value(facts, classes[0])):
            if not complete:
                return True
            if cls.defn is classes[0]:
                continue
            if name in (cls.defn.members if cls.defn is not None else ABC_BASES[cls.name]):
                return True
        return False
