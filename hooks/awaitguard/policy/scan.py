"""The policies in the scan: over a whole tree, over a change, and re-checked when a policy changes."""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Sequence
from pathlib import Path

from awaitguard.config import ConfigError, Policy, is_pattern, policy_from_text
from awaitguard.config import name_matches as matches
from awaitguard.findings import Finding, Related
from awaitguard.index import Index
from awaitguard.model import FileChange
from awaitguard.policy.check import Checker
from awaitguard.resolve import Resolver
from awaitguard.rules.awaits import AG101
from awaitguard.rules.dropped import AG102
from awaitguard.rules.policy import twin_note
from awaitguard.tree import excluded
from awaitguard.values import Value

MODULES_SEARCHED = 500  # modules read to find what a wildcard pattern matches, at most


def with_twins(policy: Policy, resolver: Resolver, findings: list[Finding]) -> list[Finding]:
    """AG101/AG102 about either half of a pair of twins name the other half, as the other fix."""
    checker = Checker(policy, resolver)
    out: list[Finding] = []
    for finding in findings:
        note = _twin_note(checker, finding) if finding.code in (AG101.code, AG102.code) and finding.related else None
        out.append(finding._replace(related=(*finding.related, note)) if note else finding)
    return out


def _twin_note(checker: Checker, finding: Finding) -> Related | None:
    where = finding.related[0]
    if where.path == checker.policy.source:
        return None  # a value a `sync`/`async` declaration gave: its note is the policy's line, no definition
    facts = checker.index.facts_for_path(where.path)
    defn = next((d for d in facts.defs if d.line == where.line and d.kind == "function"), None) if facts else None
    if facts is None or defn is None:
        return None
    value = checker.resolver.lookup(facts.module, defn.qualname)
    if defn.is_async:
        twin, twin_defn, path = checker.sync_twin_of(value)
    else:
        twin, twin_defn, path = checker.twin_of(value)
    if not twin or twin_defn is None or not path or path.startswith("<"):
        return None
    return Related(path, twin_defn.line, twin_defn.col, twin_note(twin=twin, of_async=defn.is_async))


def tree_findings(policy: Policy, resolver: Resolver, files: Sequence[str], data: dict[str, bytes]) -> list[Finding]:
    """The policy findings of ``files`` (a full scan); raises ``ConfigError`` for a policy naming nothing."""
    validate(policy, resolver)
    checker = Checker(policy, resolver)
    missing = [p for p in files if p not in data and p.endswith(".py")]
    if missing:
        data = {**data, **resolver.index.tree.read(missing)}
    return [f for path in files if path.endswith(".py") and path in data for f in checker.file(path, data[path])]


def change_findings(
    policy: Policy, resolver: Resolver, changes: Sequence[FileChange], old_index: Index | None, exclude: Collection[str]
) -> list[Finding]:
    """The policy findings on the changed lines; the whole project's, as impact, when the policy itself
    changed (a new `real` entry holds every test already written to it)."""
    validate(policy, resolver)
    index = resolver.index
    checker = Checker(policy, resolver)
    paths = [c.path for c in changes if c.status != "D" and c.path.endswith(".py")]
    data = index.tree.read(paths)
    out: list[Finding] = []
    for change in changes:
        if change.path in data:
            out.extend(
                f
                for f in checker.file(change.path, data[change.path])
                if change.status == "A" or f.line in change.lines
            )
    if _policy_changed(policy, old_index):
        rest = [p for p in index.tree.files() if p.endswith(".py") and p not in data and not excluded(p, exclude)]
        blobs = index.tree.read(rest)
        for path in rest:
            if path in blobs:
                out.extend(f._replace(impact=True) for f in checker.file(path, blobs[path]))
    return out


def _policy_changed(policy: Policy, old_index: Index | None) -> bool:
    if old_index is None:
        return False
    old_text = old_index.tree.read([policy.source]).get(policy.source)
    old = policy_from_text(old_text.decode("utf-8", "replace"), Path(policy.source)) if old_text else None
    if old is None:
        return True
    return _rules_of(old) != _rules_of(policy)


def _rules_of(policy: Policy) -> tuple[object, ...]:
    """A policy without its line numbers: moving a line is no change."""
    return (
        tuple((r.targets, r.paths) for r in policy.real),
        policy.sync,
        policy.async_,
        policy.twins,
        policy.forbid_in_async,
        policy.conventions,
    )


def declared(policy: Policy) -> tuple[tuple[str, bool, str, str, int], ...]:
    """``Index.declared``: the callee names the policy declares sync or async (``sync``/``async`` only),
    by their own (last) name: what a call the resolver cannot follow shows. A pair of ``twins`` declares
    nothing here: it says which of two known definitions async code should call (AG108), and its
    halves are judged from their source, never matched by name."""
    pairs = [(name, False) for name in policy.sync] + [(name, True) for name in policy.async_]
    return tuple(
        dict.fromkeys(
            (name.rsplit(".", 1)[-1], is_async, name, policy.source, policy.line_of(name)) for name, is_async in pairs
        )
    )


# -- validation against the project -------------------------------------------------------------
def validate(policy: Policy, resolver: Resolver) -> None:
    """Every name and path of the policy must match something, and a declaration must agree with the
    source it names; else one ``ConfigError`` naming the key, the file and the line."""
    index = resolver.index
    files = index.tree.files()
    where = policy.source
    for number, real in enumerate(policy.real, 1):
        key = f"`real` entry {number}"
        for glob in real.paths:
            if not any(excluded(path, (glob,)) for path in files):
                raise ConfigError(
                    f"{where}:{real.line}: [tool.awaitguard.policy] {key} `paths`: `{glob}` matches no file"
                )
        for pattern in real.targets:
            _must_match(pattern, resolver, f"{where}:{real.line}: [tool.awaitguard.policy] {key} `targets`")
    for key, names in (("sync", policy.sync), ("async", policy.async_), ("forbid-in-async", policy.forbid_in_async)):
        for name in names:
            _must_match(name, resolver, f"{where}:{policy.line_of(name)}: [tool.awaitguard.policy] `{key}`")
    for sync, twin in policy.twins:
        for name, kind in ((sync, "sync"), (twin, "async")):
            _must_match(name, resolver, f"{where}:{policy.line_of(name)}: [tool.awaitguard.policy] `twins`")
            _must_agree(name, kind, resolver, f"{where}:{policy.line_of(name)}", f"`twins` pairs it as the {kind} twin")
    for kind, names in (("sync", policy.sync), ("async", policy.async_)):
        for name in names:
            if not is_pattern(name):
                _must_agree(name, kind, resolver, f"{where}:{policy.line_of(name)}", f"it is declared `{kind}`")


def _must_agree(name: str, kind: str, resolver: Resolver, where: str, said: str) -> None:
    value = _resolved(name, resolver)
    defn = value.defn if value is not None else None
    if value is None or defn is None or defn.kind != "function" or value.kind != "function":
        return
    # judged as every call is: a `def` declared to return a coroutine is an async twin, and a call
    # whose result the scanner cannot classify contradicts nothing
    awaitable = resolver.call(value).awaitable()
    if awaitable is None or awaitable == (kind == "async"):
        return
    actual = "`async def`" if defn.is_async else ("`def` returning an awaitable" if awaitable else "`def`")
    raise ConfigError(
        f"{where}: [tool.awaitguard.policy] `{name}`: {said}, but the source says {actual} at {value.path}:{defn.line}"
    )


def _resolved(name: str, resolver: Resolver) -> Value | None:
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        if resolver.index.has_module(module) or resolver.index.in_library(module):
            value = resolver.lookup(module, ".".join(parts[cut:]))
            return value if value.kind != "unknown" else None
    return None


def _defined(name: str, resolver: Resolver) -> bool:
    """Whether a module defines ``name`` in a way the resolver does not follow to one value (an
    ``@overload``-ed function, as typeshed's ``subprocess.run``; a name bound more than once)."""
    module, _, rest = name.rpartition(".")
    while module:
        facts = resolver.index.facts(module)
        if facts is not None:
            names = {d.qualname for d in facts.defs} | {n for n, _ in facts.bindings} | {i.name for i in facts.imports}
            return rest in names
        module, _, head = module.rpartition(".")
        rest = f"{head}.{rest}"
    return False


def _must_match(pattern: str, resolver: Resolver, what: str) -> None:
    index = resolver.index
    modules = list(index.modules)
    if any(fnmatch.fnmatchcase(m, pattern) or m.startswith(pattern + ".") or m == pattern for m in modules):
        return
    if not is_pattern(pattern):
        if pattern in index.namespaces or index.in_library(pattern) or _resolved(pattern, resolver) is not None:
            return
        if _defined(pattern, resolver):
            return
        raise ConfigError(f"{what}: `{pattern}` names nothing in the project or its libraries")
    head = pattern.rsplit(".", 1)[0]
    searched = 0
    for module in modules:
        if not (fnmatch.fnmatchcase(module, head) or pattern.startswith(module + ".")):
            continue
        searched += 1
        if searched > MODULES_SEARCHED:
            return  # too many to read: the pattern is let through
        facts = index.facts(module)
        if facts is None:
            continue
        names = (
            [d.qualname for d in facts.defs] + [name for name, _ in facts.bindings] + [i.name for i in facts.imports]
        )
        if any(matches(f"{module}.{name}", (pattern,)) for name in names):
            return
    raise ConfigError(f"{what}: `{pattern}` matches nothing in the project")
