"""Expression -> definition -> awaitability, with the reason kept for the message.

``Resolver.value`` follows names through local bindings, imports (absolute, relative, inside
functions), re-exports, attributes, ``self``/``cls``/``super()``, attributes set in ``__init__``,
``importlib.import_module``/``__import__``/``getattr`` literals, decorators and return values.
Anything it cannot follow is ``UNKNOWN``, and rules say nothing about unknown values.

This module is the entry: ``Resolver`` memoises ``_value`` and steps along a ``Ref``; its parts
live beside it (``resolving.py`` says how they fit): ``lookup.py`` (names and attributes),
``members.py`` (the MRO and class members), ``declared.py`` (annotations), ``calls.py`` (what a
call gives), and ``known.py`` (the table of well-known external names).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator

from awaitguard.calls import Calls
from awaitguard.declared import Declared
from awaitguard.hierarchy import Hierarchy
from awaitguard.index import Index
from awaitguard.known import KNOWN, KNOWN_COROUTINE_NAMES, SYNC_DECORATOR_NAMES
from awaitguard.lookup import Lookup
from awaitguard.members import Members
from awaitguard.mixins import Mixins
from awaitguard.model import ModuleFacts, Ref, Site, is_call
from awaitguard.params import Params
from awaitguard.patching import Form, PatchCall, ProductionAwaits
from awaitguard.refs import BUILTIN_NAMES, CONSUMERS, LOG_METHODS, is_logger_method
from awaitguard.resolving import NONE, Tables
from awaitguard.stores import Stores
from awaitguard.values import UNKNOWN, Value

__all__ = ["KNOWN", "KNOWN_COROUTINE_NAMES", "SYNC_DECORATOR_NAMES", "Resolver"]

_FORMS: dict[str, Form] = {
    "patch": "patch",
    "patch.object": "patch.object",
    "patch.multiple": "patch.multiple",
    "monkeypatch.setattr": "monkeypatch.setattr",
    "assign": "assign",
}
_MAX_DEPTH = 24


_DEF_BEFORE = re.compile(rb"[ \t]*(async[ \t]+)?def[ \t]+")
_STORE_AFTER = re.compile(rb"[ \t]*(?::[^=\n]*)?=(?!=)")


def definitions_of(blob: bytes, word: bytes) -> Iterator[bool]:
    """Whether each definition of ``word`` in ``blob`` is an `async def`: a `def` of it (at the start of a
    line), or an assignment of it (`word = `, `word: T = ` at the start of a line, `.word = ` anywhere: False).
    Each occurrence of the word is found by a substring search, then its line is read: a pattern that must
    try every position of the file cost a tenth of a second on a large one."""
    at = blob.find(word)
    while at != -1:
        end = at + len(word)
        after = blob[end : end + 1]
        line = blob.rfind(b"\n", 0, at) + 1
        before = _DEF_BEFORE.fullmatch(blob, line, at)
        if before is not None and not (after.isalnum() or after == b"_"):
            yield before.group(1) is not None
        elif (blob[at - 1 : at] == b"." or not blob[line:at].strip(b" \t")) and _STORE_AFTER.match(blob, end):
            yield False
        at = blob.find(word, end)


class Resolver(Lookup, Members, Declared, Calls, Stores, Hierarchy, Params, Mixins):
    def __init__(self, index: Index) -> None:
        self.index = index
        self._tables: dict[str, Tables] = {}
        self._memo: dict[tuple[str, str, Ref], Value] = {}
        self._busy: set[tuple[str, str, Ref]] = set()
        self._subclassed: dict[tuple[str, str, tuple[str, ...]], bool] = {}  # ``subclass_defines``
        self._rewritten: list[Value] | None = None  # ``rewritten_to_sync``'s classes, found once
        self._globals: dict[tuple[str, str], Value] = {}
        self._globals_busy: set[tuple[str, str]] = set()
        self.members_state()  # ``members.Members``: the MROs and members worked out
        self._subclasses: dict[tuple[str, str], tuple[Value, ...]] = {}
        self._subclass_sets: dict[tuple[str, str], tuple[Value, ...] | None] = {}  # ``Mixins``
        self._multi_bases = None
        self._multi_holding: dict[tuple[str, str], list[int]] = {}
        self._multi_unknown: list[int] = []
        self._diverging: dict[tuple[str, str, str, str], bool] = {}
        self.production_awaits = ProductionAwaits(index.tree)
        self._async_defs: dict[str, bool] = {}
        self._async_everywhere: dict[str, tuple[bool, bool]] = {}  # name -> (everywhere, an `async def` seen)
        self._depth = 0
        self.callers_on = False
        # names whose awaited calls also get the callers' second opinion (``through_callers``): a change's
        # flipped definitions (``impact.flipped_findings``), whose awaits are few and all of them broken
        self.callers_for: frozenset[str] = frozenset()
        self._twin: Resolver | None = None
        self.callers_state()  # ``callers.Callers``: per def, what its calls pass; the files it read
        self._filled: dict[tuple[str, str, str], Value] = {}  # ``stores.Stores``, per bare container attribute
        self._outside_paths: dict[str, list[str]] | None = None  # ``stores.Stores.replaced_outside``
        self._outside: dict[str, tuple[tuple[Value, Value | None], ...]] = {}
        self._handed: dict[tuple[str, str], tuple[str, str, str] | None] = {}  # ``params.Params.handed_on``

    # -- entry points ----------------------------------------------------------------------------------
    def value(self, facts: ModuleFacts, scope: str, ref: Ref) -> Value:
        found = self._value(facts.module, scope, ref)
        return UNKNOWN if found.kind == "overloads" else found  # only a call site chooses (``overloads``)

    def through_callers(self) -> Resolver:
        """A second opinion for a site this resolver finds unknown: a resolver that also knows an unannotated
        parameter from what every call of its def passes (``callers.py``). It is asked only about dropped
        calls and sync `with`/`for` (sites the by-name filter lets through, a few per project), because
        the search for callers reads files: on every `await` of a parameter's method it cost a full scan of
        a large project several times its time), and about the awaits of a name in ``callers_for``."""
        if self._twin is None:
            self._twin = Resolver(self.index)
            self._twin.callers_on = True
            self._twin.production_awaits = self.production_awaits
            self._twin._tables = self._tables  # a module's tables and the grep answers are the same for both
            self._twin._async_defs = self._async_defs
            self._twin._async_everywhere = self._async_everywhere
        return self._twin

    def tables(self, module: str) -> Tables | None:
        found = self._tables.get(module)
        if found is None:
            facts = self.index.facts(module)
            if facts is None:
                return None
            found = self._tables[module] = Tables(facts)
        return found

    def module_binds(self, module: str, name: str) -> bool:
        """Whether ``module`` still defines, imports or assigns ``name`` (or has it as a submodule)."""
        if not self.index.has_module(module):
            return False  # the module itself is gone
        tables = self.tables(module)
        if tables is None:
            return True  # cannot tell: do not report
        if tables.facts.star_imports:
            return True
        return bool(
            tables.defs.get(name) or tables.imports.get(("", name)) or tables.bindings.get(name)
        ) or self.index.has_module(f"{module}.{name}")

    # -- core ------------------------------------------------------------------------------------------
    def _value(self, module: str, scope: str, ref: Ref) -> Value:
        if not ref:
            return UNKNOWN
        key = (module, scope, ref)
        memo = self._memo.get(key)
        if memo is not None:
            return memo
        if key in self._busy or self._depth > _MAX_DEPTH:
            return self.cut_short()
        self._busy.add(key)
        self._depth += 1
        try:
            result = self._compute(module, scope, ref)
            if result.kind == "unknown" and self.index.declared and is_call(ref[-1]):
                result = self._policy_declared(ref)
        finally:
            self._depth -= 1
            self._busy.discard(key)
        self._memo[key] = result
        return result

    def _policy_declared(self, ref: Ref) -> Value:
        """A call the resolver cannot follow, whose callee's own name the project's policy declares."""
        name = ref[-2].removeprefix("n:").removeprefix(".") if len(ref) > 1 and ref[-2].startswith(("n:", ".")) else ""
        for pattern, is_async, declared, source, line in self.index.declared if name else ():
            if fnmatch.fnmatchcase(name, pattern):
                kind = "coroutine" if is_async else "plain"
                return Value(kind, name=declared, resolver=self, declared_at=(source, line))
        return UNKNOWN

    def _compute(self, module: str, scope: str, ref: Ref) -> Value:
        if ref[-1].startswith("#elt:"):  # `a, b = pair()`: what `pair` declares each element is
            return self._element(module, scope, ref)
        head = ref[0]
        steps = ref[1:]
        if head.startswith("n:"):
            current = self._lookup(module, scope, head[2:])
        elif head.startswith("d:"):
            current = self._local_def(module, head[2:])
        elif head.startswith("m:"):
            current = self._module_value(head[2:])
        elif head == "super" or (head.startswith("super:") and self._own_super(module, scope, head[6:])):
            found = self._super_member(module, scope, ref[1][1:]) if ref[1:2] and ref[1].startswith(".") else None
            current, steps = (self._super(module, scope), ref[1:]) if found is None else (found, ref[2:])
        elif head == "plain":
            current = Value("plain")
        elif head == "none":
            current = NONE
        elif head.startswith("t:"):  # a declared union or `Callable[...]`, as written
            current = self._typed(module, scope, head[2:])
        elif head[:2] in ("a:", "v:"):  # a type alias, a TypeVar's bound: what an annotation naming it declares
            current = Value("alias" if head[0] == "a" else "typevar", module=module, name=head[2:], resolver=self)
        elif head.startswith("b:"):
            current = Value("builtin", name=head[2:], resolver=self)
        elif head == "lambda":
            current = Value("lambda")
        elif head == "genexp":
            current = Value("gen", name="<genexpr>")
        else:
            return UNKNOWN
        for step in steps:
            if current.kind == "unknown" and not step.startswith("#many:"):  # `Dict[str, Any]` is still a dict
                return UNKNOWN
            if is_call(step):
                current = self.call(current, step)
            elif step.startswith("."):
                current = self.attribute(current, step[1:])
            elif step == "#inst":
                current = self._declared_instance(current)
            elif step.startswith("#builtin:"):
                # `n: int`: an int, unless the project defines (or imports) a class of that name
                known = current.kind == "external" and current.name in BUILTIN_NAMES
                current = Value("builtin", name=step[9:], resolver=self) if known else UNKNOWN
            elif step.startswith("#many:"):
                current = self._many(current, step[6:])
            elif step == "#item":
                current = self._item(current)
            elif step == "#sub":
                current = self._subscripted(current)
            elif step == "#await":
                current = self.awaited(current)
            elif step in ("#enter", "#aenter"):
                current = self._entered(current, "__aenter__" if step == "#aenter" else "__enter__")
            else:
                return UNKNOWN
        return current

    def defined_async(self, names: tuple[str, ...]) -> bool:
        """Whether the project defines an `async def` of any of ``names`` (a subclass may override a sync
        method with it: a command layer shared by a sync and an async client). Asked only of a finding."""
        missing = [name for name in names if name not in self._async_defs]
        if missing:
            candidates = sorted(self.index.tree.grep(missing))
            blobs = self.index.tree.read(candidates)
            for name in missing:
                pattern = re.compile(rb"\basync[ \t]+def[ \t]+" + re.escape(name.encode()) + rb"\b")
                self._async_defs[name] = any(pattern.search(blob) for blob in blobs.values())
        return any(self._async_defs[name] for name in names)

    def async_everywhere(self, name: str, defined: bool = False) -> bool:
        """Whether every definition of ``name`` in the project is an `async def` that is no generator, and
        nothing assigns ``name`` as an attribute: a declaration reached through `self` (a body of `pass`) and
        every override agree that calling it makes a coroutine. ``defined``: and there is one such `async def`
        (the incidents' recheck: an `await` of it that failed was fixed at the callee)."""
        known = self._async_everywhere.get(name)
        if known is None:
            paths = sorted(self.index.tree.grep({name}))
            blobs = self.index.tree.read(paths)
            found, seen = True, False
            async_paths = []
            for path in paths:
                for is_async in definitions_of(blobs.get(path, b""), name.encode()):
                    if not is_async:
                        found = False  # a plain def, or an assignment
                        break
                    async_paths.append(path)
                if not found:
                    break
            if found:
                for path in dict.fromkeys(async_paths):
                    facts = self.index.facts_for_path(path)
                    named = [d for d in facts.defs if d.qualname.rsplit(".", 1)[-1] == name] if facts else []
                    if facts is None or any(d.is_generator or not d.is_async for d in named):
                        found = False
                        break
                    seen = seen or bool(named)
            self._async_everywhere[name] = known = (found, seen)
        return known[0] and (known[1] or not defined)

    def consumer(self, facts: ModuleFacts, site: Site) -> str:
        """What the function a value-use site passes its call to does with a coroutine: its
        ``refs.CONSUMERS`` group, "log" for a logging call, or "" when it is not known to want a result."""
        value = self.value(facts, site.scope, site.target_ref)
        if value.kind == "external":
            if value.name in CONSUMERS:
                return CONSUMERS[value.name]
            module, _, method = value.name.rpartition(".")
            return "log" if module == "logging" and method in LOG_METHODS else ""
        if value.kind == "function" and value.defn is not None and value.module.split(".")[0] == "logging":
            # read from typeshed: `logging.info` or `Logger.info` (through `logging.getLogger(...)`)
            return "log" if value.defn.qualname.rsplit(".", 1)[-1] in LOG_METHODS else ""
        if value.kind == "unknown" and is_logger_method(site.target):
            return "log"  # `logger = logging.getLogger(...)` is not followed: a logger by name
        return ""

    def declares_plain_result(self, facts: ModuleFacts, scope: str) -> bool:
        """Whether the def ``scope`` declares a result that is never awaitable (`-> Response`, a class without
        `__await__`; a union of such): an awaitable it returns is not what its callers are promised."""
        tables = self.tables(facts.module)
        defs = tables.defs.get(scope, []) if tables is not None and scope else []
        if tables is None or len(defs) != 1 or not defs[0].returns_annotation:
            return False
        return self._declared(self._def_value(tables.facts, defs[0])).awaitable() is False

    def scope_is_async(self, facts: ModuleFacts, scope: str) -> bool:
        tables = self.tables(facts.module)
        found = tables.scopes.get(scope) if tables is not None and scope else None
        return found is not None and found.is_async

    # -- helpers for messages --------------------------------------------------------------------------
    def async_sibling(self, value: Value) -> str | None:
        """`get_manager` -> `get_manager_async` / `async_get_manager` / `aget_manager`, if it is async."""
        source = value.origin if value.origin is not None else value
        if source.defn is None or source.defn.kind != "function":
            return None
        qualname = source.defn.qualname
        prefix, _, short = qualname.rpartition(".")
        tables = self.tables(source.module)
        if tables is None:
            return None
        for candidate in (f"{short}_async", f"async_{short}", f"a{short}", f"{short}_coro"):
            full = f"{prefix}.{candidate}" if prefix else candidate
            defs = tables.defs.get(full, [])
            if len(defs) == 1 and defs[0].is_async:
                return candidate
        return None

    # -- test doubles ---------------------------------------------------------------------------------
    def awaited_somewhere(self, name: str) -> bool:
        """Whether production code (not tests) writes `await ...name(`: a sync double breaks only that."""
        return self.production_awaits(name)

    def patch_target(self, facts: ModuleFacts, site: Site) -> Value:
        if site.target_ref:
            owner = self.value(facts, site.scope, site.target_ref)
            return self.attribute(owner, site.target) if owner.kind != "unknown" else UNKNOWN
        parts = site.target.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if self.index.has_module(module) and self.index.modules.get(module) is not None:
                return self.lookup(module, ".".join(parts[cut:]))
        return UNKNOWN

    def patch_call(self, facts: ModuleFacts, site: Site) -> tuple[PatchCall, Value] | None:
        """The record of a patch site (``patching.judge`` decides on it) and the target's value, for a
        target that is a function; None for any other target (a class, an attribute, unknown)."""
        target = self.patch_target(facts, site)
        if target.kind != "function" or target.defn is None:
            return None
        double = self.value(facts, site.scope, site.double)
        if double.kind == "asyncmock":
            double_async: bool | None = True
        elif double.kind in ("syncmock", "lambda"):
            double_async = False
        elif double.kind == "function" and double.defn is not None and not double.defn.never_returns:
            double_async = self.call(double).awaitable()
        else:
            double_async = None
        form, _, later = site.context.partition(":")  # `assign:configured-later` (``Expressions.assigned_double``)
        record = PatchCall(
            form=_FORMS.get(form, "patch"),
            target=site.target if not site.target_ref else target.defn.qualname,
            double=site.shown,
            target_awaitable=self.call(target).awaitable(),
            double_awaitable=double_async,
            target_def="async def" if target.defn.is_async else "def",
            mock=double.kind == "syncmock",
            configured_later=later == "configured-later",
        )
        return record, target
