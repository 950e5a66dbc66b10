"""Hot-line gating: the expression search of the walk looks only at lines that can hold what a
rule judges. ``HotLines`` answers, from the file's bytes, whether a span of lines can.
"""

from __future__ import annotations

import bisect
import itertools

from awaitguard.refs import (
    hot_lines,
)

# an expression is searched only when one of its lines could hold something a rule judges
# literal patterns (a regex with one literal is a fast C search; an alternation of \b-words is not)
_HOT_WORDS = (b"async for", b" for ", b'f"', b"f'")  # and the `await` lines
_PATCH_WORDS = (b"patch", b"setattr")


def running_counts(lines: list[int], size: int) -> list[int]:
    """``counts[n]``: how many of the sorted line numbers ``lines`` are <= n, for n in 0..size+1."""
    flags = bytearray(size + 2)
    for line in lines:
        flags[line] = 1
    return list(itertools.accumulate(flags))


class HotLines:
    """Which lines of a file can hold what the expression search looks for, asked by the walk.

    Built from the bytes: the lines with `await`, the hot lines (`await`, `async for`, ` for `,
    f-strings, and `patch`/`setattr` when the file mentions them: then every scope is searched,
    ``walk_all``) and the lines with `yield`. Running counts of hot lines make "does the span a..b
    hold one?" two list reads: ``counts[b] != counts[a - 1]``.
    """

    __slots__ = ("await_counts", "await_lines", "hot_counts", "walk_all", "yield_lines")

    def __init__(self, data: bytes, size: int) -> None:
        self.walk_all = b"patch" in data or b"setattr" in data
        # the lines a sync scope is searched on: an `await` or an async comprehension is a SyntaxError there
        self.await_lines = hot_lines(data, (b"await", b"async for"))
        hot = hot_lines(data, _HOT_WORDS + (_PATCH_WORDS if self.walk_all else ()), self.await_lines)
        # running counts of hot lines: a node spanning lines a..b is hot when counts[b] != counts[a - 1]
        self.hot_counts = running_counts(hot, size)
        self.await_counts = running_counts(self.await_lines, size)
        self.yield_lines = hot_lines(data, (b"yield",))

    def counts(self, is_async: bool) -> list[int] | None:
        """The running counts a scope's expressions are searched by; None when nothing there can be found
        (a sync scope is only searched for `await` and `async for`, a SyntaxError there)."""
        if is_async or self.walk_all:
            return self.hot_counts
        if self.await_lines:
            return self.await_counts
        return None

    def cold(self, is_async: bool, first: int, last: int) -> bool:
        """Whether no line of a def spanning ``first``..``last`` can hold what the search looks for."""
        counts = self.hot_counts if is_async or self.walk_all else self.await_counts
        return counts[last] == counts[first - 1]

    def may_yield(self, first: int, last: int) -> bool:
        """Whether a line in ``first``..``last`` mentions `yield` (only then is a def's body searched)."""
        index = bisect.bisect_left(self.yield_lines, first)
        return index != len(self.yield_lines) and self.yield_lines[index] <= last
