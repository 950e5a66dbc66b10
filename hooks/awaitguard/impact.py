"""Change impact: what a commit's changed definitions break in files the commit did not touch.

A change is scanned twice over: the changed lines themselves (``engine.scan_change``), and the rest
of the tree as far as the change reaches it. For the second, ``compare`` indexes the files before
and after the commit and resolves every module-level name of each changed module on both sides:
a name whose summary (the awaitability of calling it, or its class's async protocol methods)
differs has flipped, and a top-level definition that is gone was deleted, renamed or moved. Only
the files that mention a flipped or removed short name (one ``git grep``, ``Tree.grep``) are then
parsed and judged; ``flipped_findings`` keeps the findings whose reason chain passes through a
flipped definition (or whose patch targets it), marked as impact and pointing at the change, and
``removed_findings`` asks ``rules.missing`` about uses of what disappeared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from awaitguard.findings import Finding, Related
from awaitguard.index import Index
from awaitguard.judge import run_rules
from awaitguard.model import FileChange, ModuleFacts
from awaitguard.resolve import Resolver
from awaitguard.rules._base import Flipped, changed_note, flipped_note
from awaitguard.rules.doubles import META as DOUBLES_META
from awaitguard.rules.missing import Gone, Removal, check_removed
from awaitguard.values import Value

DOUBLES = frozenset(meta.code for meta in DOUBLES_META)  # a double's finding names its target


@dataclass(frozen=True)
class Flip:
    module: str
    qualname: str
    path: str  # where the new definition is (or the old one, when removed)
    line: int
    how: Flipped  # what the change did to it (the rules word it: ``flipped_note``)


def _summary(resolver: Resolver, value: Value) -> tuple[object, ...]:
    """What callers depend on: awaitability of calling it, and its async protocols."""
    if value.kind == "function":
        result = resolver.call(value)
        return (
            "function",
            result.kind
            if result.kind in ("coroutine", "asyncgen", "gen", "sync-cm", "async-cm")
            else result.awaitable(),
        )
    if value.kind == "class":
        members = ("__await__", "__aenter__", "__enter__", "__aiter__", "__iter__")
        return ("class", *(resolver.class_has(value, m) for m in members))
    return (value.kind,)


def _describe(old: Value, new: Value) -> Flipped:
    if old.kind == "function" and old.defn is not None and new.defn is not None and old.kind == new.kind:
        if old.defn.is_async != new.defn.is_async:
            return "was-async" if old.defn.is_async else "was-sync"
        return "result"
    if old.kind == "class" and new.kind == "class":
        return "protocols"
    return "elsewhere"


def _module_names(facts: ModuleFacts) -> set[str]:
    names = {d.qualname for d in facts.defs if "<locals>" not in d.qualname and d.qualname.count(".") <= 1}
    names |= {i.name for i in facts.imports if not i.scope and i.name}
    names |= {n for n, _ in facts.bindings}
    return names


def compare(
    old_index: Index, new_index: Index, changes: Sequence[FileChange], new_resolver: Resolver | None = None
) -> tuple[list[Flip], dict[tuple[str, str], Removal]]:
    """Definitions whose awaitability flipped, and definitions that disappeared (``new_resolver``: the scan's
    resolver of ``new_index``, whose work so far is then not done again)."""
    old_resolver = Resolver(old_index)
    new_resolver = new_resolver if new_resolver is not None else Resolver(new_index)
    flips: list[Flip] = []
    removed: dict[tuple[str, str], Removal] = {}
    for change in changes:
        old_path = change.old_path or (change.path if change.status in ("M", "D") else None)
        if old_path is None or not old_path.endswith((".py", ".pyi")):
            continue
        old_facts = old_index.facts_for_path(old_path)
        if old_facts is None:
            continue
        new_facts = new_index.facts_for_path(change.path) if change.status != "D" else None
        new_names = _module_names(new_facts) if new_facts is not None else set()
        old_module = old_facts.module
        moved = new_facts is None or new_facts.module != old_module
        old_top = {d.qualname: d for d in old_facts.defs if "." not in d.qualname}
        new_top = {d.qualname for d in new_facts.defs if "." not in d.qualname} if new_facts else set()
        gone = [n for n in old_top if n not in new_names or moved]
        added = sorted(new_top - set(old_top))
        for name in gone:
            defn = old_top[name]
            if moved:
                removal = (
                    Removal(old_path, defn.line, "module-deleted")
                    if new_facts is None
                    else Removal(old_path, defn.line, "module-moved", new_facts.module)
                )
            elif len(gone) == 1 and len(added) == 1:
                removal = Removal(old_path, defn.line, "renamed", added[0])
            else:
                removal = Removal(old_path, defn.line, "deleted")
            removed[(old_module, name)] = removal
        # names the module imported at its top: `from pkg.links import decode_payload` works through a
        # re-export, and fails once the module is gone or stops importing it
        for imp in old_facts.imports:
            if imp.scope or not imp.name or imp.name == "*" or imp.name in old_top:
                continue
            if not moved and imp.name in new_names:
                continue
            if moved:
                how: Gone = "module-deleted" if new_facts is None else "module-moved"
                removal = Removal(old_path, imp.line, how, "" if new_facts is None else new_facts.module)
            else:
                removal = Removal(old_path, imp.line, "deleted")
            removed.setdefault((old_module, imp.name), removal)
        if new_facts is None or moved:
            continue
        for qualname in sorted(_module_names(old_facts) & new_names):
            old_value = old_resolver.lookup(old_module, qualname)
            new_value = new_resolver.lookup(new_facts.module, qualname)
            if new_value.kind == "unknown" or old_value.kind == "unknown":
                continue
            if _summary(old_resolver, old_value) == _summary(new_resolver, new_value):
                continue
            new_defn = new_value.defn
            flips.append(
                Flip(
                    new_facts.module,
                    qualname,
                    new_value.path or change.path,
                    new_defn.line if new_defn else 1,
                    _describe(old_value, new_value),
                )
            )
    return flips, removed


def rewritten(paths: Iterable[str], changes: Sequence[FileChange], new: Index, old: Index | None) -> set[str]:
    """Those of ``paths`` whose content the change rewrote: added, or other bytes than before (a
    comment counts); not a pure rename or a mode change."""
    wanted = set(paths)
    out: set[str] = set()
    for change in changes:
        if change.status == "D" or change.path not in wanted:
            continue
        before = change.old_path or (change.path if change.status == "M" else None)
        if old is None or before is None:
            out.add(change.path)
            continue
        old_data = old.tree.read([before]).get(before)
        if old_data is None or old_data != new.tree.read([change.path]).get(change.path):
            out.add(change.path)
    return out


def flipped_findings(resolver: Resolver, index: Index, flips: Sequence[Flip]) -> list[Finding]:
    """Findings in the files that name a flipped definition whose reasons pass through it (or whose
    patch targets it), marked as impact and pointing at the change."""
    if not flips:
        return []
    by_short: dict[str, list[Flip]] = {}
    for flip in flips:
        by_short.setdefault(flip.qualname.rsplit(".", 1)[-1], []).append(flip)
    candidates = sorted(index.tree.grep(set(by_short)))
    where = {(f.path, f.line): f for f in flips}
    resolver.callers_for = frozenset(by_short)  # an await of one through an unannotated parameter: its callers say
    out: list[Finding] = []
    for facts in index.load(candidates):
        for finding in run_rules(resolver, facts):
            hit = next((where[(r.path, r.line)] for r in finding.related if (r.path, r.line) in where), None)
            if hit is None and finding.code in DOUBLES:
                target = finding.kwargs.get("target", "")
                hit = next((f for f in flips if target.endswith(f.qualname)), None)
            if hit is None:
                continue
            related = [
                Related(
                    r.path,
                    r.line,
                    r.col,
                    flipped_note(r.note, hit.how) if (r.path, r.line) == (hit.path, hit.line) else r.note,
                )
                for r in finding.related
            ] or [Related(hit.path, hit.line, 1, changed_note(hit.qualname, hit.how))]
            out.append(
                Finding(finding.path, finding.line, finding.col, finding.code, finding.args, tuple(related), True)
            )
    return out


def removed_findings(resolver: Resolver, index: Index, removed: dict[tuple[str, str], Removal]) -> list[Finding]:
    """Uses, in the files that name them, of the definitions the change removed (``rules.missing``)."""
    if not removed:
        return []
    candidates = sorted(index.tree.grep({name for _, name in removed}))
    out: list[Finding] = []
    for facts in index.load(candidates):
        out.extend(f for f in check_removed(resolver, facts, removed) if not facts.suppressed(f.line, f.code))
    return out
