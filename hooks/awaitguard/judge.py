"""Judging: every rule family over the sites of a module, the findings its suppressions leave.

Each site kind (an `await`, a dropped call, a `with`, a `for`, a patch...) is handed to the rule
families that declare it in their ``KINDS``. A full scan also passes ``names``, every async name
of the project and its libraries: a dropped call, `with` or `for` whose callee's short name (or
the name it was imported as) is none of them cannot be awaitable, so it is skipped without
resolving it (``BY_NAME``); the other kinds (``NOT_BY_NAME``) are judged whatever the names, which
lets a parallel scan judge them before the names are known (``parallel``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from awaitguard.findings import Finding
from awaitguard.model import MEMO_LIMIT, ModuleFacts, is_call
from awaitguard.resolve import Resolver
from awaitguard.rules import FAMILIES

# sites of these kinds can only matter when the called (or overriding) name is an async definition's name
BY_NAME = frozenset({"drop", "with", "for", "override"})


_FAMILIES_OF = {kind: tuple(f for f in FAMILIES if kind in f.KINDS) for family in FAMILIES for kind in family.KINDS}
_SHORT_NAMES: dict[tuple[str, ...], str] = {}  # ``_short_name`` of refs met so far (the same refs recur)


def _short_name(ref: tuple[str, ...]) -> str:
    for step in reversed(ref):
        if step.startswith((".", "n:")):
            return step.split(":", 1)[-1].lstrip(".")
    return ""


def run_rules(
    resolver: Resolver, facts: ModuleFacts, kinds: Collection[str] | None = None, names: Collection[str] | None = None
) -> list[Finding]:
    """Every rule family over every site of ``facts`` (optionally only sites of ``kinds``).

    With ``names`` (every async name of the project), a dropped call, `with` or `for` whose callee
    name (or the name it was imported as) is none of them is skipped without resolving it.
    """
    out: list[Finding] = []
    aliases: set[str] = set()
    if names is not None:
        aliases = {imp.name for imp in facts.imports if imp.attr in names}
    shorts = _SHORT_NAMES
    for site in facts.sites:
        kind = site.kind
        if kinds is not None and kind not in kinds:
            continue
        # a `with` over a variable (`with self.lock:`) is always judged: few, and its type is the question
        if names is not None and kind in BY_NAME and not (kind == "with" and not (site.ref and is_call(site.ref[-1]))):
            short = shorts.get(site.ref)
            if short is None:
                if len(shorts) >= MEMO_LIMIT:
                    shorts.clear()  # a long-lived process (dmypy) meets refs without end
                short = shorts[site.ref] = _short_name(site.ref)
            if short not in names and short not in aliases:
                continue
        for family in _FAMILIES_OF.get(kind, ()):
            out.extend(family.check(resolver, facts, site))
    return [f for f in out if not facts.suppressed(f.line, f.code)]


# sites judged whatever the async names: awaits, `async with`/`async for`, patches
NOT_BY_NAME = frozenset(_FAMILIES_OF) - BY_NAME


def judged(
    resolver: Resolver, loaded: Iterable[ModuleFacts], names: set[str] | None, kinds: Collection[str] | None = None
) -> list[Finding]:
    """``run_rules`` over every module of ``loaded``, in order."""
    return [finding for facts in loaded for finding in run_rules(resolver, facts, kinds, names)]
