"""What every reporter shares: a finding's message and fix, rendered late from its rule's metadata."""

from __future__ import annotations

from awaitguard.findings import Finding
from awaitguard.rules import ALL_CODES, RuleMeta


def meta(finding: Finding) -> RuleMeta:
    """The registry entry of ``finding.code``; an unregistered code is a bug in a rule family."""
    try:
        return ALL_CODES[finding.code]
    except KeyError:
        raise ValueError(f"{finding.path}:{finding.line}: unknown rule code {finding.code!r}") from None


def message(finding: Finding) -> str:
    """The rule's ``template`` filled with the finding's named args."""
    return _fill(finding, "template", meta(finding).template)


def fix(finding: Finding) -> str:
    """The rule's ``fix`` text filled with the finding's named args."""
    return _fill(finding, "fix", meta(finding).fix)


def _fill(finding: Finding, field: str, text: str) -> str:
    try:
        return text.format_map(finding.kwargs)
    except KeyError as err:
        raise ValueError(
            f"{finding.path}:{finding.line}: {finding.code} {field} needs arg {err.args[0]!r}, "
            f"the finding has {sorted(finding.kwargs)}"
        ) from None


def location(path: str, line: int, col: int = 0) -> str:
    """``path:line:col``, or ``path:line`` / ``path`` when the column / line is unknown (0)."""
    if line <= 0:
        return path
    if col <= 0:
        return f"{path}:{line}"
    return f"{path}:{line}:{col}"
