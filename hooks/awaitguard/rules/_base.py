"""What every rule family declares (codes, messages, fixes, docs) and how it builds a finding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

from awaitguard.findings import Finding, Related
from awaitguard.model import ModuleFacts, Site

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver
    from awaitguard.values import DefKind, Value


class RuleMeta(NamedTuple):
    code: str  # "AG101"
    slug: str  # "await-not-awaitable"
    template: str  # message, str.format()-ed with the finding's args
    fix: str  # the action, str.format()-ed with the finding's args
    doc: str  # markdown: What it does / Why is this bad? / Example / Use instead [/ Known problems]
    summary: str = ""  # one line for the README's rule index and the page's lead
    hooks: tuple[str, ...] = ("scan",)  # which of scan / mypy / smoke (or parity) report it (stated on its page)
    retired_by: str | None = None
    # what a finding's related locations are, for the formats that cannot carry them apart (github):
    # "definition" (the callee's, then others: "defined at A; see also B") or "evidence" ("A: note" each)
    related: Literal["definition", "evidence"] = "definition"


def finding(
    resolver: Resolver,
    facts: ModuleFacts,
    site: Site,
    meta: RuleMeta,
    value: Value,
    *,
    declared: str = "",
    **args: str,
) -> Finding:
    """A finding at ``site`` whose related locations come from ``value``'s definition, and, when the
    value was taken from a `sync`/`async` declaration of the policy, ``declared`` at that line."""
    related = definition_related(value)
    if declared and value.declared_at is not None:
        related.append(Related(value.declared_at[0], value.declared_at[1], 1, declared))
    args.setdefault("expr", site.shown)
    args.setdefault("callee", value.qualname)
    if value.defined_at:
        args.setdefault("defined_at", value.defined_at)
    return Finding.make(facts.path, site.line, site.col, meta.code, args, related)


def definition_note(short: str, kind: DefKind | Literal["defined"], also: str = "") -> str:
    """The note at a definition a finding depends on: "`name` is `async def` here"; ``also``: its qualified
    name when the finding names it otherwise (an alias); kind "defined": neither kind is known."""
    if kind == "defined":
        return f"`{short}` is defined here"
    named = f"`{short}` (`{also}`)" if also else f"`{short}`"
    return f"{named} is a class here" if kind == "class" else f"{named} is `{kind}` here"


def definition_related(value: Value) -> list[Related]:
    """The related location of the callable or class ``value`` comes from, with its note (none if unknown)."""
    at = value.definition()
    return [] if at is None else [Related(at.path, at.line, at.col, definition_note(at.short, at.kind))]


def frame_note(*, func: str, created: bool) -> str:
    """The note at a frame of a coroutine's origin (the smoke run): where it was ``created``, or a caller."""
    return f"{'created here' if created else 'called from here'} (in `{func}`)"


# How a definition a change kept flipped (``impact.compare``): an impact finding's note says it.
Flipped = Literal["was-async", "was-sync", "result", "protocols", "elsewhere"]
_FLIPPED: dict[str, str] = {
    "was-async": "was `async def` before this commit",
    "was-sync": "was `def` before this commit",
    "result": "its result changed awaitability in this commit",
    "protocols": "its async protocol methods changed in this commit",
    "elsewhere": "it points elsewhere since this commit",
}


def flipped_note(note: str, how: Flipped) -> str:
    """An impact finding's ``note`` at the definition a change flipped, with what the change did to it."""
    return f"{note} ({_FLIPPED[how]})"


def changed_note(qualname: str, how: Flipped) -> str:
    """An impact finding's note at the flipped definition ``qualname`` when it had no note there."""
    return f"`{qualname}` changed: {_FLIPPED[how]}"
