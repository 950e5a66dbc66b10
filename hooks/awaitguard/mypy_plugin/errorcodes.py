"""One mypy ``ErrorCode`` per awaitguard rule, named by the rule's slug.

So ``--disable-error-code await-not-awaitable`` and ``# type: ignore[await-not-awaitable]`` work.
"""

from __future__ import annotations

from types import MappingProxyType

from mypy.errorcodes import ErrorCode

from awaitguard.rules import CODES

CATEGORY = "awaitguard"


def _build() -> dict[str, ErrorCode]:
    built: dict[str, ErrorCode] = {}
    for code, meta in CODES.items():
        if meta.retired_by is not None:
            continue
        built[code] = ErrorCode(meta.slug, f"awaitguard {code}", CATEGORY)
    return built


BY_CODE: MappingProxyType[str, ErrorCode] = MappingProxyType(_build())
CODE_BY_SLUG: MappingProxyType[str, str] = MappingProxyType(
    {error_code.code: code for code, error_code in BY_CODE.items()}
)

__all__ = ["BY_CODE", "CATEGORY", "CODE_BY_SLUG"]
