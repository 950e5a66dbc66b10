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

import ast
from collections.abc import Callable

from awaitguard.model import NONE_REF, Ref, ScopeFact, is_declaration, ref_text
from awaitguard.overloads import is_overload
from awaitguard.refs import ref_of
from awaitguard.resolving import Resolving, Tables
from awaitguard.values import Value

# typing's and collections.abc's awaitable types, as a name resolves to them (known by name, not read from typeshed)
AWAITABLE_TYPES = frozenset(
    f"{module}.{name}"
    for module in ("typing", "typing_extensions", "collections.abc")
    for name in ("Awaitable", "Coroutine")
) | {"types.CoroutineType"}
_FORWARDS_DEPTH = 4  # forwarding methods followed (`finish` forwarding to a `finish` forwarding ...), no more


class Params(Resolving):
    _handed: dict[tuple[str, str], tuple[str, str, str] | None]

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
            if self.stored_outside(owner, name):
                return None  # `out.write = any_write` elsewhere: the parameters may be another def's
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

    def declared_attribute(self, module: str, scope: str, receiver: Ref, attr: str) -> tuple[str, str] | None:
        """For a value stored as ``attr`` of ``receiver`` (`chat.pinned = ...`, read in ``scope`` of ``module``): the
        types the receiver's class declares the attribute with, as written, and the class's name; None when they
        are not known, or may hold a coroutine (``_attribute_types``)."""
        owner = self._value(module, scope, receiver)
        if owner.kind != "instance" or owner.defn is None:
            return None
        for cls, complete in self._mro(owner):
            if cls.defn is None or not complete:
                return None  # a base that is not read may declare it
            tables = self.tables(cls.module)
            if tables is None or "__setattr__" in cls.defn.members or f"{cls.defn.qualname}.{attr}" in tables.defs:
                return None  # stored through a method (a property's setter, `__setattr__`): what it keeps is its own
            if any(name == attr for name, _, _ in cls.defn.attrs):
                declared = self._attribute_types(cls, tables, attr)
                # the searches of the project last: most attributes are not declared
                if declared is None or self.subclass_defines(owner, (attr,)) or self._awaited_attribute(attr):
                    return None
                return " | ".join(dict.fromkeys(declared)), cls.defn.qualname.rsplit(".", 1)[-1]
        return None

    def _attribute_types(self, cls: Value, tables: Tables, attr: str) -> list[str] | None:
        """The types ``cls`` declares ``attr`` with, as written: its annotations (`pinned: Message`, in the class
        body or on `self` in a method), else, when every store in its methods is an annotated parameter (`__init__(
        self, pinned: Message)` then `self.pinned = pinned`) or `None`, those parameters' annotations, as a type
        checker reads them; None when some store is another value, or a type may hold a coroutine."""
        assert cls.defn is not None
        entries = [(scope, ref) for name, scope, ref in cls.defn.attrs if name == attr]
        declared = [(scope, ref) for scope, ref in entries if is_declaration(ref)]
        found: list[tuple[str, Ref]] = []
        for scope, ref in declared or entries:
            if declared:
                found.append((scope, ref))
                continue
            if ref == NONE_REF:
                continue
            method = tables.scopes.get(scope)
            if method is None or len(ref) != 1 or ref[0][:2] != "n:" or ref[0][2:] not in method.params[1:]:
                return None
            annotation = next((r for param, r in method.annotations if param == ref[0][2:]), None)
            if annotation is None or method.is_static or method.is_classmethod:
                return None
            found.append((method.parent, annotation))
        texts: list[str] = []
        for scope, ref in found:
            value = self._value(cls.module, scope, ref)
            if not _holds_no_coroutine(value):
                return None
            texts.append(ref[0][2:] if ref[0][:2] == "t:" else _type_name(value))
        return texts or None

    def _awaited_attribute(self, attr: str) -> bool:
        """Whether the project awaits an attribute named ``attr`` anywhere (`await chat.pinned`): the code may
        store a coroutine there on purpose, and its declaration is what is wrong."""
        step = f".{attr}"
        for path in sorted(self.index.tree.grep({attr})):
            facts = self.index.facts_for_path(path)
            for site in facts.sites if facts is not None else ():
                if site.kind == "await" and site.ref[-1:] == (step,):
                    return True
        return False

    def handed_on(
        self, callee: Value, owner: Value | None, wanted: Callable[[Value], str]
    ) -> tuple[str, str, str] | None:
        """For a project def ``callee`` whose first argument (after the instance) binds a parameter declared with
        awaitable types only (`coro: Coroutine[Any, Any, T]`) that its body hands on, never rebound, as the first
        argument of a call of what ``wanted`` names (asyncio's `loop.create_task`, `ensure_future` ...): that
        parameter, the name and the call's function as written; None otherwise (aiokafka's `create_task(coro)`,
        home-assistant's `async_create_task(target)`: a value that is never awaitable given to them raises in
        asyncio). A method is called on ``owner``: an instance no project subclass of whose class defines the name
        again, and on which the project stores no other value of that name (as for ``passed_to``)."""
        if callee.defn is None or callee.module not in self.index.modules:
            return None
        key = (callee.module, callee.defn.qualname)
        if key not in self._handed:
            self._handed[key] = self._handed_on(callee, wanted)
        found = self._handed[key]
        name = callee.defn.qualname.rsplit(".", 1)[-1]
        if found is not None and "." in callee.defn.qualname.replace(".<locals>.", ""):  # a method
            if owner is None or owner.kind != "instance" or self.subclass_defines(owner, (name,)):
                return None
            if self.stored_outside(owner, name):
                return None
        return found

    def _handed_on(self, callee: Value, wanted: Callable[[Value], str]) -> tuple[str, str, str] | None:
        assert callee.defn is not None
        if callee.defn.decorators:  # only decorators that return the def itself (home-assistant's `@callback`)
            effective, special = self._effective(callee)
            if effective is None or special or effective.defn != callee.defn:
                return None
        found = self._signature(callee, decorated=True)
        if found is None:
            return None
        fact, _ = found
        param = _bound(fact, 1 if fact.cls else 0, "0")
        ref = next((r for declared, r in fact.annotations if declared == param), None) if param else None
        if ref is None or not self._declares_awaitable(callee.module, fact.parent, ref):
            return None
        node = self._def_node(callee.path, callee.defn)
        handed = written = ""
        todo: list[ast.AST] = list(node.body) if node is not None else []
        while todo:
            sub = todo.pop()
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue  # a scope of its own
            if isinstance(sub, ast.Name) and sub.id == param and not isinstance(sub.ctx, ast.Load):
                return None  # rebound: what is handed on may be another value
            if isinstance(sub, ast.Call) and sub.args[:1] and isinstance(sub.args[0], ast.Name):
                if sub.args[0].id == param and not handed:
                    func = ref_of(sub.func)
                    handed = wanted(self._value(callee.module, fact.qualname, func)) if func else ""
                    written = ref_text(func)
            todo.extend(ast.iter_child_nodes(sub))
        return (param, handed, written) if handed else None

    def _declares_awaitable(self, module: str, scope: str, ref: Ref) -> bool:
        """Whether an annotation is awaitable whatever it holds: `Coroutine[...]`, `Awaitable[...]` (typing's, as
        names: ``AWAITABLE_TYPES``), a task or a future (classes with `__await__`), or a union of those."""
        if ref[-1:] == ("#inst",):
            cls = self._value(module, scope, ref[:-1])
            if cls.kind == "external":
                return cls.name in AWAITABLE_TYPES
        return _only_awaitables(self._value(module, scope, ref))

    def _signature(self, callee: Value, decorated: bool = False) -> tuple[ScopeFact, str] | None:
        """The scope of the undecorated def ``callee`` is (``decorated``: its decorators were found to return it),
        and its name; None for the implementation of `@overload`s (callers are checked against those, which may
        take what its own annotation does not)."""
        defn = callee.defn
        if callee.kind != "function" or defn is None or (defn.decorators and not decorated):
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


def _only_awaitables(value: Value) -> bool:
    """Whether a declared type is awaitable whatever it holds: `Coroutine[...]`, `Awaitable[...]`, a task or a
    future, or a union of those (`None` not among them)."""
    if value.kind == "union":
        return all(_only_awaitables(member) for member in value.members)
    return value.kind == "instance" and value.defn is not None and value.awaitable() is True


def _type_name(value: Value) -> str:
    if value.kind == "instance" and value.defn is not None:
        return value.defn.qualname.rsplit(".", 1)[-1]
    return value.name
