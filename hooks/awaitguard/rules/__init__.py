"""The registry: every rule family, listed explicitly (no plugin discovery)."""

from __future__ import annotations

from types import MappingProxyType

from awaitguard.rules import awaits, doubles, dropped, missing
from awaitguard.rules._base import RuleMeta

FAMILIES = (awaits, dropped, missing, doubles)

CODES: MappingProxyType[str, RuleMeta] = MappingProxyType(
    {meta.code: meta for family in FAMILIES for meta in family.META}
)

__all__ = ["CODES", "FAMILIES", "RuleMeta", "rules_markdown"]


def rules_markdown() -> str:
    """The README's rules section, generated from each rule's ``doc`` (a test keeps them equal)."""
    parts: list[str] = []
    for code in sorted(CODES):
        meta = CODES[code]
        parts.append(f"### {code}\n\n`{meta.slug}`\n\n{meta.doc.strip()}\n")
    return "\n".join(parts)
