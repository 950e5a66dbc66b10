"""Classes: whether a class has a member, and what a member of a class or instance is.

The MRO (walked in ``lineage.py``) is Python's C3 linearization when every base is known; otherwise
(an unknown base, bases that cannot be linearized) it is approximated breadth-first, and a base that
cannot be resolved makes it incomplete: a member the classes before it do not define is then unknown.
`super().name` inside a class C is looked up in C's MRO after C, and is unknown where a project subclass
of C with several bases puts another class defining ``name`` between C and the class found. A
`typing`/`collections.abc` base brings its known members (``values.ABC_BASES``). A class with
`__getattr__` (or, for the class object, a metaclass) may have any member. What a member is, once
worked out, is kept (``_member``), unless a resolution on the way was cut short.
"""

from __future__ import annotations

from collections.abc import Iterable

from awaitguard.known import KNOWN
from awaitguard.lineage import Lineage, class_key, defines
from awaitguard.model import DefFact, Ref, is_call, is_declaration
from awaitguard.resolving import NONE, class_scope, overloads_value, stub_overloads
from awaitguard.values import ABC_BASES, UNKNOWN, Value


def _hides(defn: DefFact, value: Value) -> bool:
    """Whether a class may have members it does not show: `__getattr__`, or (for the class object itself, not
    an instance: a metaclass's members are the class's, not its instances') a metaclass."""
    if not defn.dynamic:
        return False
    return value.kind != "instance" or "__getattr__" in defn.members or "__getattribute__" in defn.members


def is_accessor(decorator: Ref) -> bool:
    """``@name.setter`` / ``.getter`` / ``.deleter``: a property's other half."""
    return len(decorator) == 2 and decorator[0].startswith("n:") and decorator[1] in (".setter", ".getter", ".deleter")


class Members(Lineage):
    def members_state(self) -> None:
        self._mros, self._linears, self._linear_busy = {}, {}, set()
        self._cuts = 0  # resolutions cut short so far (a cycle, the depth limit): ``_member``'s memo needs none
        self._members = {}

    def _known_mro(self, value: Value) -> bool:
        """Whether every class of ``value``'s MRO is known (no unknown base, no dynamic class)."""
        return all(complete and (cls.defn is None or not cls.defn.dynamic) for cls, complete in self._mro(value))

    def class_has(self, value: Value, member: str) -> bool | None:
        """Whether the class (of an instance) defines ``member``; None when it cannot be known."""
        if value.defn is None:
            return None
        for cls, complete in self._mro(value):
            if not complete:
                return None
            if cls.defn is None:
                if member in ABC_BASES[cls.name]:
                    return True
                continue
            if _hides(cls.defn, value) or any(d == ("?",) for d in cls.defn.decorators if not is_call(d[-1])):
                return None
            if member in cls.defn.members:
                return True
            if cls.path.startswith("<stubs>/") and not (member.startswith("__") and member.endswith("__")):
                return None  # a shipped stub lists a library class's protocol dunders, not all its members
        # a protocol is structural: what is passed as one may have any member it does not declare
        return None if self._is_protocol(value) else False

    def plainly_built(self, value: Value) -> bool:
        """Whether every class of ``value``'s MRO is known and decorated only by decorators that add no
        member (`@dataclass`, `@final` ...): a project's own class decorator may add `__aenter__`."""
        if value.defn is None:
            return False
        for cls, complete in self._mro(value):
            if not complete:
                return False
            if cls.defn is None:
                continue  # a `typing`/`collections.abc` base: its members are known
            for dec in cls.defn.decorators:
                called = dec[:-1] if is_call(dec[-1]) else dec  # `@dataclass(frozen=True)`
                found = self._value(cls.module, class_scope(cls.defn), called)
                if not (found.kind == "external" and KNOWN.get(found.name) == "deco-transparent"):
                    return False
        return True

    def _member(self, owner: Value, name: str) -> Value:
        """``name`` on ``owner``, memoized unless a resolution on the way was cut short (a cycle, the depth limit:
        a later lookup may get further). The key holds the class's def by identity (hashing a DefFact hashes all
        its members); every later lookup reads the same memoized values, so it would find the same."""
        if owner.members:  # several mixins' `self`: one class (``mixins.py``)
            return self.agreed_member(owner, name)
        defn = owner.defn
        key: tuple[object, ...] = (owner.kind, owner.module, owner.path, id(defn), owner.name, owner.via_property)
        key += (owner.self_ref, owner.bound, owner.container, name)
        kept = self._members.get(key)
        if kept is not None and kept[0] is defn:
            return kept[1]
        cuts = self._cuts
        found = self._member_along(owner, name, self._mro(owner), own=True)
        if self._cuts == cuts:
            self._members[key] = (defn, found)
        return found

    def _member_along(self, owner: Value, name: str, mro: Iterable[tuple[Value, bool]], own: bool = False) -> Value:
        """``name`` along ``mro``; ``own``: looked up on the object itself (not `super()`), whose own attribute
        may hide a method (``_hidden``)."""
        before: list[Value] = []  # the project classes met so far along the MRO
        meta = False  # a class object of a class with a metaclass: what no class of the MRO defines may be its
        for cls, complete in mro:
            if not complete:
                # an unknown base hides only what the classes before it, and their `self.x =`, do not define;
                # a `None` they assign is a default the base may replace (`self.transport = None`)
                found = self._assigned(before, name)
                return UNKNOWN if found is NONE or meta else found
            if cls.defn is None:
                if name in ABC_BASES[cls.name]:
                    return UNKNOWN  # an ABC's mixin method: defined, its result not followed
                continue
            if _hides(cls.defn, owner):
                if owner.kind == "instance" or "__getattr__" in cls.defn.members:
                    return UNKNOWN
                meta = True  # `Entity.async_remove`: a def of the class's own is found before the metaclass's
            before.append(cls)
            if name not in cls.defn.members:
                continue
            tables = self.tables(cls.module)
            if tables is None:
                return UNKNOWN
            defs = tables.defs.get(f"{cls.defn.qualname}.{name}", [])
            if meta and not defs:
                return UNKNOWN  # a value the class body binds, which the metaclass may make something else (enums)
            if defs and self._diverges(before[:-1], cls):
                return UNKNOWN  # `get` of requests.Session, on a subclass whose `request` returns an awaitable
            if defs and own and owner.kind == "instance" and self._hidden(owner, cls, defs, name):
                return UNKNOWN  # `self.close = ...` in a method: the instance's own attribute, not the def
            if defs and own and owner.self_ref and self.picked_before(owner, cls, name):
                return UNKNOWN  # `Handler(Plain, Mixin)`: `self.finish` in `Mixin` may be `Plain.finish`
            if defs:
                found = self._method(owner, cls, defs)
                if own and found.kind == "function" and self.replaced_outside(owner, found, name):
                    return UNKNOWN  # `sink.write = plain_write` elsewhere: a call runs what was assigned
                return found
            return self._attr_value(cls, name, before[:-1], owner.kind == "instance")
        return UNKNOWN if meta else self._assigned(before, name)

    def _hidden(self, owner: Value, cls: Value, defs: list[DefFact], name: str) -> bool:
        """Whether a class of the instance's MRO assigns ``name`` (`self.close = _close_now`, a class attribute after
        the def): the instance's attribute hides a method, which is no data descriptor (a property is one: assigning
        it calls its setter)."""
        if not any(c.defn is not None and any(a == name for a, _, _ in c.defn.attrs) for c, _ in self._mro(owner)):
            return False
        return not any(self._decorator_kind(cls.module, d, "deco-property") for d in defs)

    def _super_member(self, module: str, scope: str, name: str) -> Value | None:
        """`super().name` in a method of class C: ``name`` along C's MRO after C. Unknown when a project subclass
        of C with several bases (what `self` may be) puts another class defining ``name`` between C and the
        class found; None when C's MRO is not linear (the caller then looks on C's first base)."""
        tables = self.tables(module)
        current = tables.scopes.get(scope) if tables else None
        if tables is None or current is None or not current.cls:
            return None
        defs = tables.defs.get(current.cls, [])
        if len(defs) != 1:
            return None
        cls = self._def_value(tables.facts, defs[0])
        linear = self._linear(cls, [])
        if linear is None:
            return None
        owner = Value("instance", module=cls.module, path=cls.path, defn=cls.defn, self_ref=True, resolver=self)
        found = self._member_along(owner, name, ((c, True) for c in linear[1:]))
        if found.kind == "unknown":
            return found
        definer = next((c for c in linear[1:] if defines(c, name)), None)
        for sub in self.multi_base_subclasses(cls):
            order = self._linear(sub, [])
            if order is None:
                return UNKNOWN
            keys = [class_key(c) for c in order]
            start = keys.index(class_key(cls)) + 1 if class_key(cls) in keys else len(keys)
            for between in order[start:]:
                if definer is not None and class_key(between) == class_key(definer):
                    break
                if defines(between, name):
                    return UNKNOWN
        return found

    def _union_member(self, union: Value, name: str) -> Value:
        """``name`` on a declared union, judged on the members that have it: on the others (and on `None`)
        the access raises AttributeError anyway. Unknown when a member may or may not have it."""
        found: list[Value] = []
        for member in union.members:
            if member.kind == "builtin" and member.name == "None":
                continue
            if member.kind != "instance" or member.defn is None or member.self_ref:
                return UNKNOWN
            has = self.class_has(member, name)
            if has is None:
                return UNKNOWN
            if has or any(name in _attr_names(cls) for cls, _ in self._mro(member)):
                found.append(self._member(member, name))
        if not found or any(v.kind == "unknown" for v in found):
            return UNKNOWN
        if len(set(found)) == 1:
            return found[0]
        return Value("union", name=union.name, members=tuple(found), resolver=self)

    def _assigned(self, classes: list[Value], name: str) -> Value:
        """An instance attribute set in the methods of ``classes`` (`self.x = ...`), first class first."""
        for at, cls in enumerate(classes):
            assert cls.defn is not None
            if any(attr == name for attr, _, _ in cls.defn.attrs):
                return self._attr_value(cls, name, classes[:at])
        return UNKNOWN

    def _attr_value(self, cls: Value, name: str, before: list[Value], on_instance: bool = True) -> Value:
        """What ``cls`` binds ``name`` to (`x = ...` in its body, `self.x = ...` in its methods). A value from
        `self.method(...)` is the instance's own class's: unknown when a class ``before`` ``cls`` in the
        instance's MRO defines ``method`` (a subclass's `async def` override of what the base stores). An
        annotation (`self.conns: list[Conn]`, with or without a value) declares the attribute: it wins over what
        is assigned elsewhere (`self.conns = []`), as for a type checker. Traits, bare containers: ``stores``."""
        assert cls.defn is not None
        values: list[Value] = []
        entries = [(scope, ref) for attr, scope, ref in cls.defn.attrs if attr == name]
        declared = [(scope, ref) for scope, ref in entries if is_declaration(ref)]
        body = class_scope(cls.defn)
        for scope, ref in declared or entries:
            if ref[1:2] and ref[1].startswith(".") and any(defines(c, ref[1][1:]) for c in before):
                tables = self.tables(cls.module)
                method = tables.scopes.get(scope) if tables is not None else None
                if method is not None and method.cls and not method.is_static and method.params[:1] == (ref[0][2:],):
                    return UNKNOWN
            trait = self._trait_instance(cls, name, scope, ref) if on_instance and scope == body else None
            stored = self._stored(cls.module, scope, ref, name) if trait is None else trait
            if stored is not None:
                values.append(stored)
        merged = self._merge(values)
        if merged.kind == "builtin" and declared and all(ref[-1] in _BARE and at == body for at, ref in declared):
            return bare_container(merged, cls, name)
        return _placeholder(merged)

    def _method(self, owner: Value, cls: Value, defs: list[DefFact]) -> Value:
        getters = [d for d in defs if self._decorator_kind(cls.module, d, "deco-property")]
        if getters:
            if owner.kind != "instance":
                return UNKNOWN
            result = self.call(self._def_value_at(cls, getters[0], owner.self_ref))
            if result.kind == "plain":
                return Value(
                    "plain", origin=result.origin, via_property=True, overridable=result.overridable, resolver=self
                )
            return result
        if len(defs) != 1:
            tables = self.tables(cls.module)
            # a stub's overloads that do not all agree: a call chooses; through `self`, a subclass may override
            if owner.self_ref or tables is None or not stub_overloads(tables.facts, defs):
                return UNKNOWN
            return overloads_value(tables.facts, defs, owner.kind == "instance")
        defn = defs[0]
        if owner.self_ref and (defn.is_stub or defn.is_abstract):
            name = defn.qualname.rsplit(".", 1)[-1]
            if cls.path.startswith("<stubs>/") and not defn.is_abstract:
                # a shipped stub's method is the library's declaration, not a hook: it decides unless the
                # project defines the name with the other kind (a subclass of `self`'s class may override it)
                if defn.is_async and not defn.is_generator:
                    return self._def_value_at(cls, defn, True) if self.async_everywhere(name) else UNKNOWN
                return UNKNOWN if self.defined_async((name,)) else self._def_value_at(cls, defn, True)
            # a hook for subclasses to fill in: it decides only when it is an `async def` and so is every override
            if not (defn.is_async and not defn.is_generator and self.async_everywhere(name)):
                return UNKNOWN
        found = self._def_value_at(cls, defn, owner.self_ref)
        return found if owner.kind != "instance" or owner.self_ref else found.replace(receiver=owner)

    def _def_value_at(self, cls: Value, defn: DefFact, self_ref: bool) -> Value:
        return Value("function", module=cls.module, path=cls.path, defn=defn, self_ref=self_ref, resolver=self)

    def _decorator_kind(self, module: str, defn: DefFact, kind: str) -> bool:
        scope = class_scope(defn)
        for dec in defn.decorators:
            if is_accessor(dec):
                if kind == "deco-property":
                    return True
            value = self._value(module, scope, dec)
            if value.kind == "external" and KNOWN.get(value.name) == kind:
                return True
        return False

    def _is_protocol(self, cls: Value) -> bool:
        """Whether ``cls`` is a `Protocol` class (one of its direct bases is `Protocol` or `Protocol[T]`)."""
        assert cls.defn is not None
        for base_ref in cls.defn.bases:
            if base_ref and base_ref[-1] in ("n:Protocol", ".Protocol"):
                return True
        return False


def _attr_names(cls: Value) -> set[str]:
    """The attributes a class's methods set on `self`."""
    return {attr for attr, _, _ in cls.defn.attrs} if cls.defn is not None else set()


_BARE = frozenset({"#builtin:dict", "#builtin:list", "#builtin:set"})  # `dict`, `List`: no item type


def bare_container(value: Value, cls: Value, name: str) -> Value:
    """The builtin container ``value`` that ``cls`` declares ``name`` with, without item types, marked so that its
    items can be learned from its stores (``stores.Stores._stored_items``)."""
    assert cls.defn is not None
    return value.replace(container=f"@{cls.module}:{cls.defn.qualname}:{name}")


def _placeholder(value: Value) -> Value:
    """A member the class only ever sets to `None` (`_waiter = None`) is a placeholder for a value set from
    outside (`handler._waiter = loop.create_future()` in a test): what it holds when used is unknown."""
    return UNKNOWN if value is NONE else value
