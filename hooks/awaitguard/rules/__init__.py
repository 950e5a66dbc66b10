"""The registry: every rule family, listed explicitly (no plugin discovery)."""

from __future__ import annotations

from types import MappingProxyType

from awaitguard.rules import awaits, doubles, dropped, missing, policy
from awaitguard.rules._base import RuleMeta

FAMILIES = (awaits, dropped, missing, doubles, policy)

CODES: MappingProxyType[str, RuleMeta] = MappingProxyType(
    {meta.code: meta for family in FAMILIES for meta in family.META}
)

__all__ = ["CODES", "FAMILIES", "RuleMeta"]
