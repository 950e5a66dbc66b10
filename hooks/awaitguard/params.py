"""What a call's argument binds to: the parameter of the def it calls, and what that parameter declares.

Asked by AG102 about a name bound to a coroutine and then passed, whole, to one call (`self.finish(form)`):
when the parameter it binds is declared with types that never hold a coroutine (`chunk: str | bytes | dict`,
a class without `__await__`), the callee gets the coroutine where it declares a result. Only what can be
read exactly is answered; anything else is unknown (None):

- the callee resolves to one def that carries no decorator and has no `@overload`s: a method called on an
  instance (its first parameter is the instance) or a function called by its name or through its module;
- through an instance, no project subclass of the instance's class defines the name again or, having several
  bases, gets it from another class first (the instance may be one of those, whose signature may differ), and
  no class of its MRO assigns the name (`self.write = ...`: the instance's attribute, not the def, runs);
- a method whose body only passes `*args, **kwargs` on, unchanged, to `super().<its own name>(...)` takes the
  parameters of the method that finds (``ScopeFact.forwards``), a few levels deep;
- the argument's position falls on a parameter before any `*args` (no positional-only parameter in the
  def), or its keyword names a parameter;
- the parameter is annotated, and every type of the annotation is a builtin type other than `object`, a
  declared `list`/`set`/`tuple`, `None`, or a class whose whole MRO is known and has no `__await__`.
"""

from __future__ import annotations

from awaitguard.model import Ref, ScopeFact
from awaitguard.overloads import is_overload
from awaitguard.resolving import Resolving
from awaitguard.values import Value

_FORWARDS_DEPTH = 4  # forwarding methods followed (`finish` forwarding to a `finish` forwarding ...), no more


class Params(Resolving):
    def passed_to(self, module: str, scope: str, func: Ref, slot: str) -> tuple[str, str, str, bool] | None:
        """For a call of ``func`` (read in ``scope`` of ``module``) given a value at ``slot`` (a position, "0",
        or a keyword, "chunk="): the parameter it binds, its declared type as written, the qualified name of
        the def it belongs to, and whether a forwarding method passed it on; None when not known, or when the
        declaration may hold a coroutine."""
        callee = self._value(module, scope, func)
        owner = self._value(module, scope, func[:-1]) if len(func) > 1 and func[-1][:1] == "." else None
        found = self._signature(callee)
        if found is None:
            return None
        fact, name = found
        if fact.cls:  # a method: bound to an instance, no subclass of whose class redefines it
            if owner is None or owner.kind != "instance" or self.subclass_defines(owner, (name,)):
                return None
        elif owner is not None and owner.kind != "module":
            return None
        forwarded = False
        for _ in range(_FORWARDS_DEPTH):
            if not fact.forwards:
                break
            callee = self._value(callee.module, fact.qualname, ("super", f".{name}"))
            found = self._signature(callee)
            if found is None or not found[0].cls:
                return None
            fact, forwarded = found[0], True
        if fact.forwards:
            return None
        param = _bound(fact, 1 if fact.cls else 0, slot)
        ref = next((ref for declared, ref in fact.annotations if declared == param), None) if param else None
        if ref is None:
            return None
        declared = self._value(callee.module, fact.parent, ref)
        if not _holds_no_coroutine(declared):
            return None
        text = ref[0][2:] if ref[0][:2] == "t:" else _type_name(declared)
        return param, text, f"{callee.module}.{fact.qualname}", forwarded

    def _signature(self, callee: Value) -> tuple[ScopeFact, str] | None:
        """The scope of the undecorated def ``callee`` is, and its name; None for the implementation of
        `@overload`s (callers are checked against those, which may take what its own annotation does not)."""
        defn = callee.defn
        if callee.kind != "function" or defn is None or defn.decorators:
            return None
        tables = self.tables(callee.module)
        fact = tables.scopes.get(defn.qualname) if tables is not None else None
        if fact is None or fact.is_static or fact.is_classmethod:
            return None
        assert tables is not None
        if any(d.qualname == defn.qualname and is_overload(d.decorators) for d in tables.facts.defs):
            return None
        return fact, defn.qualname.rsplit(".", 1)[-1]


def _bound(fact: ScopeFact, skip: int, slot: str) -> str:
    """The parameter of ``fact`` an argument at ``slot`` binds ("" when none can be named): a keyword names it;
    a position counts after the ``skip`` bound ones, before any `*args`."""
    params = fact.params
    if fact.positional < 0:
        return ""
    if slot.endswith("="):
        keyword = slot[:-1]
        named = params[skip : len(params) - fact.varargs - fact.varkw]
        return keyword if keyword in named else ""
    index = skip + int(slot)
    return params[index] if index < fact.positional else ""


def _holds_no_coroutine(value: Value) -> bool:
    """Whether a declared type never holds a coroutine: a builtin type but `object`, a declared container,
    a class with no `__await__` whose MRO is known, or a union of those."""
    if value.kind == "builtin":
        return value.name != "object"
    if value.kind == "union":
        return all(_holds_no_coroutine(member) for member in value.members)
    if value.kind == "many":
        return bool(value.name)
    return value.kind == "instance" and value.defn is not None and value.awaitable() is False


def _type_name(value: Value) -> str:
    if value.kind == "instance" and value.defn is not None:
        return value.defn.qualname.rsplit(".", 1)[-1]
    return value.name
