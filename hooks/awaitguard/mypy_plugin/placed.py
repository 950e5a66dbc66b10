"""AG106 from mypy's records: an async construct where no coroutine runs, reported as the scan reports it.

mypy's semantic analysis reports each of them and goes on checking (none is a blocking error):
``await`` as ``await-not-async`` (in a function) or ``top-level-await`` (module level, class body),
and ``async with``, ``async for`` and async comprehensions as ``"async with" outside async function``
or ``"async for" outside async function`` with the code ``syntax``, the code of a parse error, which
is why the hook must tell them apart (``non_blocking``). Each record is matched to the scanner's site
for the same construct in the file (``awaitguard.facts``), and the finding is that site's: its line,
column and words (``rules.placement``). A record with no such site is left out: mypy reports an
``await`` in a generator expression, which makes an async generator expression, legal in any function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from awaitguard.facts import collect
from awaitguard.findings import Finding
from awaitguard.model import Site
from awaitguard.rules.placement import AG106, placement_args
from awaitguard.source import SourceError

AWAIT_SLUGS = frozenset({"await-not-async", "top-level-await"})
# mypy's messages (mypy/message_registry.py) -> the construct, as the scanner's sites name it
_STATEMENTS = {
    '"async with" outside async function': ("async with",),
    '"async for" outside async function': ("async for", "comprehension"),
}


def non_blocking(record: Mapping[str, Any]) -> bool:
    """A record mypy reports with the code ``syntax`` without stopping: an ``async with``/``async for``."""
    return record.get("code") == "syntax" and record.get("message") in _STATEMENTS


def reports(record: Mapping[str, Any]) -> bool:
    """Is ``record`` one of mypy's records of an async construct outside a coroutine?"""
    return record.get("code") in AWAIT_SLUGS or non_blocking(record)


def finding(record: Mapping[str, Any], read_line: Callable[[str, int], str]) -> Finding | None:
    """The scan's AG106 finding for ``record`` (0-based code-point columns), or None when the scanner
    has no site there (mypy's report is then not a SyntaxError, or not one the scan can show)."""
    path, line, col = str(record.get("file", "")), int(record.get("line", 0)), max(int(record.get("column", 0)), 0)
    sites = _sites(path)
    if record.get("code") in AWAIT_SLUGS:
        exact = [s for s in sites if s.kind == "await-outside" and (s.line, s.col) == (line, col + 1)]
        # an `await` in an async comprehension: the comprehension is the scan's one finding
        around = [s for s in sites if s.target == "comprehension" and _holds(s, line, col + 1)]
        candidates = exact or around[-1:]
        kinds: tuple[str, ...] = ("",)
    else:
        kinds = _STATEMENTS[str(record.get("message"))]
        candidates = [s for s in sites if s.target in kinds and (s.line, s.col) == (line, col + 1)]
    if not candidates and not read_line(path, line).isascii():
        # mypy's native parser skews columns after non-ASCII text: the line's only such construct
        candidates = [s for s in sites if s.line == line and s.target in kinds]
        candidates = candidates if len(candidates) == 1 else []
    if not candidates:
        return None
    site = candidates[0]
    return Finding.make(path, site.line, site.col, AG106.code, placement_args(site))


def _holds(site: Site, line: int, col: int) -> bool:
    return (site.line, site.col) <= (line, col) and line <= site.end_line


@functools.lru_cache(maxsize=32)
def _sites(path: str) -> tuple[Site, ...]:
    """The file's AG106 sites, in the order the scanner walks them."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        facts = collect(path, "", False, data)
    except (OSError, SourceError):
        return ()
    return tuple(s for s in facts.sites if s.kind in ("await-outside", "async-outside"))


__all__ = ["AWAIT_SLUGS", "finding", "non_blocking", "reports"]
