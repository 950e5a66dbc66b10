"""The registry: every rule family, listed explicitly (no plugin discovery)."""

from __future__ import annotations

from types import MappingProxyType

from awaitguard.rules import awaits, doubles, dropped, missing, overrides, parity, placement, policy
from awaitguard.rules._base import RuleMeta

# the families judged per site of the project's code (``judge.py`` calls their ``check``)
FAMILIES = (awaits, placement, dropped, missing, overrides, doubles, policy)

# the codes of the scan, mypy and smoke hooks: those `select`, `ignore` and `per-file-ignores`
# govern, each with a generated page (``rules/_docs.py``) and an entry in the SARIF rule list
CODES: MappingProxyType[str, RuleMeta] = MappingProxyType(
    {meta.code: meta for family in FAMILIES for meta in family.META}
)

# the parity hook's (AG3xx, ``rules/parity.py``): a project's setup, governed by its own settings
PARITY_CODES: MappingProxyType[str, RuleMeta] = MappingProxyType({meta.code: meta for meta in parity.META})

# every code any hook reports: what the reporters render
ALL_CODES: MappingProxyType[str, RuleMeta] = MappingProxyType({**CODES, **PARITY_CODES})

__all__ = ["ALL_CODES", "CODES", "FAMILIES", "PARITY_CODES", "RuleMeta"]
