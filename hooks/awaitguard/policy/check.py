"""The policy findings of one file: AG203 doubles in `real` paths, AG108/AG109 calls in async code."""

from __future__ import annotations

from awaitguard.config import Policy, RealPolicy
from awaitguard.config import name_matches as matches
from awaitguard.findings import Finding, Related
from awaitguard.model import DefFact, ModuleFacts, Site
from awaitguard.policy.walk import Call, Double, walk
from awaitguard.resolve import Resolver
from awaitguard.rules._base import definition_note
from awaitguard.rules.policy import (
    AG108,
    AG109,
    AG203,
    forbidden_args,
    forbidden_note,
    real_args,
    real_note,
    twin_args,
)
from awaitguard.source import SourceError, parse
from awaitguard.tree import excluded
from awaitguard.values import Value

_DOUBLE_WORDS = (b"patch", b"setattr", b"Mock", b"autospec")


def qualified(value: Value) -> str:
    """``pkg.mod.Class.method`` for a definition, a module's or an outside name's dotted name, else ""."""
    if value.kind == "module" or value.kind == "external":
        return value.name
    if value.defn is not None and value.module and value.kind in ("function", "class"):
        return f"{value.module}.{value.defn.qualname}"
    return ""


def short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


# decorators that leave a sync def a sync callable
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod", "override", "final"})


class Checker:
    """The policy, with what resolving it takes; ``file`` gives one file's findings."""

    def __init__(self, policy: Policy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.index = resolver.index
        self.explicit = dict(policy.twins)
        self.explicit_async = {b: a for a, b in policy.twins}

    def wants(self, path: str, data: bytes) -> tuple[list[RealPolicy], bool]:
        reals = [r for r in self.policy.real if excluded(path, r.paths)]
        if reals and not any(word in data for word in _DOUBLE_WORDS):
            reals = []
        calls = b"async" in data and bool(self.policy.twins or self.policy.forbid_in_async or self.policy.conventions)
        return reals, calls

    def file(self, path: str, data: bytes) -> list[Finding]:
        reals, calls = self.wants(path, data)
        if not reals and not calls:
            return []
        facts = self.index.facts_for_path(path)
        if facts is None:
            return []  # the scan reports why it cannot read the file
        try:
            tree = parse(data, path)
        except SourceError:
            return []
        walked = walk(tree, bool(reals), calls)
        out: list[Finding] = []
        for double in walked.doubles:
            out.extend(self._double(facts, double, reals))
        for call in walked.calls:
            out.extend(self._call(facts, call))
        return [f for f in out if not facts.suppressed(f.line, f.code)]

    # -- AG203 ---------------------------------------------------------------------------------
    def double_names(self, facts: ModuleFacts, double: Double) -> list[str]:
        """What ``double`` replaces: the definition it reaches, then its target as written. The name as
        written counts only when it reaches nothing outside the project (`patch("app.ws.sys")` replaces
        the standard library's `sys` as `app.ws` sees it, no part of `app.ws`)."""
        resolver = self.resolver
        written = ""
        if double.target:
            written = double.target
            site = Site("patch", double.line, double.col, double.scope, (), target=double.target)
            reached = resolver.patch_target(facts, site)
        elif double.attr:
            owner = resolver.value(facts, double.scope, double.owner)
            written = f"{qualified(owner)}.{double.attr}" if qualified(owner) else ""
            reached = resolver.attribute(owner, double.attr) if owner.kind != "unknown" else owner
        else:  # a spec
            reached = resolver.value(facts, double.scope, double.owner)
        resolved = qualified(reached)
        names = [resolved]
        if written and (not resolved or self._in_project(reached)):
            names.append(written)
        return [n for n in dict.fromkeys(names) if n]

    def _in_project(self, value: Value) -> bool:
        module = value.name if value.kind == "module" else value.module
        return value.kind != "external" and module in self.index.modules

    def _double(self, facts: ModuleFacts, double: Double, reals: list[RealPolicy]) -> list[Finding]:
        names = self.double_names(facts, double)
        for real in reals:
            for name in names:
                if matches(name, real.targets):
                    where = f"{self.policy.source}:{real.line}"
                    args = real_args(double=double.shown, target=name, policy=where, paths=real.paths)
                    related = [Related(self.policy.source, real.line, 1, real_note())]
                    return [Finding.make(facts.path, double.line, double.col, AG203.code, args, related)]
        return []

    # -- AG108 / AG109 -------------------------------------------------------------------------
    def twin_of(self, value: Value) -> tuple[str, DefFact | None, str]:
        """The async twin of the sync ``value``: (qualified name, its definition, its module path)."""
        name = qualified(value)
        if not name:
            return "", None, ""
        if name in self.explicit:
            twin = self.explicit[name]
            found = self._def_of(twin)
            return twin, found[0], found[1]
        defn = value.defn
        if defn is None or defn.is_async or defn.kind != "function" or not self.policy.conventions:
            return "", None, ""
        plain = all(d and d[-1].removeprefix(".").removeprefix("n:") in _PLAIN_DECORATORS for d in defn.decorators)
        if not plain and self.resolver.call(value).awaitable() is not False:
            return "", None, ""  # a decorator may make it dispatch to its twin (prefect's @async_dispatch)
        facts = self.index.facts(value.module)
        if facts is None:
            return "", None, ""
        prefix, _, own = defn.qualname.rpartition(".")
        wanted = {f"{prefix}.{c.replace('*', own)}" if prefix else c.replace("*", own) for c in self.policy.conventions}
        for other in facts.defs:
            if other.qualname in wanted and other.is_async and other.kind == "function" and not other.is_generator:
                return f"{value.module}.{other.qualname}", other, facts.path
        return "", None, ""

    def sync_twin_of(self, value: Value) -> tuple[str, DefFact | None, str]:
        """The sync twin of the async ``value`` (the reverse of ``twin_of``)."""
        name = qualified(value)
        if name in self.explicit_async:
            sync = self.explicit_async[name]
            found = self._def_of(sync)
            return sync, found[0], found[1]
        defn = value.defn
        facts = self.index.facts(value.module) if defn is not None and defn.is_async else None
        if defn is None or facts is None:
            return "", None, ""
        prefix, _, own = defn.qualname.rpartition(".")
        for convention in self.policy.conventions:
            head, _, tail = convention.partition("*")
            if len(own) > len(head) + len(tail) and own.startswith(head) and own.endswith(tail):
                base = own[len(head) : len(own) - len(tail)]
                half = self.resolver.lookup(value.module, f"{prefix}.{base}" if prefix else base)
                if half.kind == "function" and self.twin_of(half)[0] == name:
                    return qualified(half), half.defn, half.path
        return "", None, ""

    def _def_of(self, name: str) -> tuple[DefFact | None, str]:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if self.index.has_module(module):
                value = self.resolver.lookup(module, ".".join(parts[cut:]))
                return value.defn, value.path
        return None, ""

    def _call(self, facts: ModuleFacts, call: Call) -> list[Finding]:
        value = self.resolver.value(facts, call.scope, call.ref)
        name = qualified(value)
        out: list[Finding] = []
        if value.kind == "unknown":
            named = self._named(facts, call)
            if not named:  # a callee known by its name only says nothing: another `fetch` is no twin
                return out
            value, name = Value("external", name=named), named  # a module's `@overload`-ed function
        is_sync_def = value.kind == "function" and value.defn is not None and not value.defn.is_async
        if is_sync_def or value.kind == "external":
            twin, defn, path = self.twin_of(value)
            if twin and f"{facts.module}.{call.scope}" != twin:
                out.append(self._twin_finding(facts, call, name, twin, defn, path))
            pattern = matches(name, self.policy.forbid_in_async) if name else ""
            if pattern and not twin:
                where = f"{self.policy.source}:{self.policy.line_of(pattern)}"
                args = forbidden_args(callee=name, policy=where, written=call.head or call.name)
                related = [Related(self.policy.source, self.policy.line_of(pattern), 1, forbidden_note())]
                out.append(Finding.make(facts.path, call.line, call.col, AG109.code, args, related))
        return out

    def _named(self, facts: ModuleFacts, call: Call) -> str:
        """``mod.name`` for a call of a module's attribute (``subprocess.run(...)``, or ``run(...)``
        imported from it), when the module is known; else ""."""
        ref = call.ref
        if len(ref) == 1 and ref[0].startswith("n:"):
            found = [i for i in facts.imports if i.name == call.name and i.attr and i.scope in ("", call.scope)]
            return f"{found[-1].module}.{found[-1].attr}" if found else ""
        if len(ref) >= 2 and ref[-1] == f".{call.name}":
            owner = self.resolver.value(facts, call.scope, ref[:-1])
            if owner.kind == "module":
                return f"{owner.name}.{call.name}"
        return ""

    def _twin_finding(
        self, facts: ModuleFacts, call: Call, sync: str, twin: str, defn: DefFact | None, path: str
    ) -> Finding:
        head = call.head or call.name
        receiver = head.rsplit(".", 1)[0] + "." if "." in head else ""
        args = twin_args(sync=sync, twin=twin, receiver=receiver)
        related = []
        if defn is not None and path and not path.startswith("<"):
            related.append(Related(path, defn.line, defn.col, definition_note(short(twin), "async def")))
        return Finding.make(facts.path, call.line, call.col, AG108.code, args, related)
