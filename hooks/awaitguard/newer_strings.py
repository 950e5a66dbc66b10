"""The string pass of ``newer.needed``: string literals read with Python 3.12's rules.

Python 3.12 (PEP 701) lets an f-string's fields hold any quote, backslashes, comments and newlines,
and 3.14 (PEP 750) adds t-strings; an older tokenizer cannot even find where such a literal ends.
``Strings`` walks the text itself, character by character, finding every string literal, and
replaces each f-string the running Python cannot parse, and every t-string, by a plain string
literal holding the same newlines (so line numbers stay), while each replacement field is checked
on its own as an expression (``expression``). What it cannot prove (an unterminated literal, a
single `}`, a t-string next to another literal) raises ``Abort``: the file is then an ordinary
syntax error, never said to need a newer Python. The statement pass in ``newer`` runs on the
rewritten text. ``Need``, ``RUNNING`` and ``parses`` are shared with it.
"""

from __future__ import annotations

import ast
import sys
import warnings
from typing import NamedTuple

Version = tuple[int, int]
RUNNING: Version = (sys.version_info.major, sys.version_info.minor)
_PREFIXES = frozenset({"", "r", "u", "b", "br", "rb", "f", "fr", "rf", "t", "tr", "rt"})
_QUOTES = "'\""


class Need(NamedTuple):
    version: Version
    what: str  # "a `type` statement"


class Abort(Exception):
    """Not provably newer syntax: an ordinary error, or something this module does not know."""


def parses(source: str, mode: str = "exec") -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def expression(source: str) -> None:
    """``source`` must parse as one expression (newlines and comments allowed, as in brackets)."""
    if not source.strip() or not parses(f"(\n{source}\n)", "eval"):
        raise Abort


class Strings:
    """A pass over the text that finds every string literal with the 3.12 rules (an f-string's
    fields may hold any quote, backslashes, comments and newlines), and replaces the f-strings this
    Python cannot parse and every t-string by a plain string holding the same newlines; their
    fields are checked as expressions on their own."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.out: list[str] = []
        self.needs: list[Need] = []
        self.last: tuple[int, bool] | None = None  # where the last literal ended, and whether a t-string

    def run(self) -> str:
        src, i, n = self.src, 0, len(self.src)
        while i < n:
            c = src[i]
            if c == "#":
                end = src.find("\n", i)
                end = n if end == -1 else end
                self.out.append(src[i:end])
                i = end
            elif c in _QUOTES:
                i = self._literal(i, i)
            elif c.isalpha() or c == "_" or ord(c) > 127:
                j = i
                while j < n and (src[j].isalnum() or src[j] == "_" or ord(src[j]) > 127):
                    j += 1
                if j < n and src[j] in _QUOTES and src[i:j].lower() in _PREFIXES:
                    i = self._literal(i, j)
                else:
                    self.out.append(src[i:j])
                    i = j
            else:
                self.out.append(c)
                i += 1
        return "".join(self.out)

    def _literal(self, start: int, quote_at: int) -> int:
        """Append the literal at ``start`` (its prefix ends at ``quote_at``), rewritten if needed."""
        prefix = self.src[start:quote_at].lower()
        template = "t" in prefix
        if self.last is not None and self.last[1] != template and not self.src[self.last[0] : start].strip(" \t\n\\"):
            raise Abort  # a t-string next to another literal is an error in 3.14 too
        end, fields = self._scan(quote_at, prefix)
        self.last = (end, template)
        literal = self.src[start:end]
        newer: Need | None = None
        if template and RUNNING < (3, 14):
            newer = Need((3, 14), "a template string (t-string)")
        elif "f" in prefix and RUNNING < (3, 12) and not parses(f"(\n{literal}\n)", "eval"):
            newer = Need((3, 12), "a PEP 701 f-string")
        if newer is None:
            self.out.append(literal)
            return end
        for field in fields:
            expression(field)
        self.needs.append(newer)
        lines = literal.count("\n")
        self.out.append('"""' + "\n" * lines + '"""' if lines else '""')
        return end

    def _scan(self, at: int, prefix: str) -> tuple[int, list[str]]:
        """The end of the literal whose quote is at ``at``, and its fields' expressions (rewritten)."""
        src, n = self.src, len(self.src)
        quote = src[at : at + 3] if src[at : at + 3] in ('"""', "'''") else src[at]
        i = at + len(quote)
        formatted = "f" in prefix or "t" in prefix
        fields: list[str] = []
        while True:
            if i >= n:
                raise Abort  # unterminated
            c = src[i]
            if src.startswith(quote, i):
                return i + len(quote), fields
            if c == "\n" and len(quote) == 1:
                raise Abort
            if c == "\\":
                if formatted and "r" not in prefix and src.startswith("N{", i + 1):
                    close = src.find("}", i)
                    if close == -1:
                        raise Abort
                    i = close + 1
                elif i + 1 < n and src[i + 1] in "{}" and formatted:
                    i += 1
                else:
                    i += 2
            elif formatted and c in "{}":
                if src.startswith(c * 2, i):
                    i += 2
                elif c == "}":
                    raise Abort  # a single `}` is an error in every version
                else:
                    i = self._field(i + 1, prefix, fields)
            else:
                i += 1

    def _field(self, i: int, prefix: str, fields: list[str]) -> int:
        """Scan a replacement field from just after its `{`; returns the index after its `}`."""
        src, n = self.src, len(self.src)
        start = i
        depth = 0
        mark = len(self.out)  # nested literals are rewritten into ``out``: take them back as the field's text
        piece_start = i
        while True:
            if i >= n:
                raise Abort
            c = src[i]
            if c in _QUOTES or (c.isalpha() and self._prefix_quote(i) is not None):
                q = i if c in _QUOTES else self._prefix_quote(i)
                assert q is not None
                self.out.append(src[piece_start:i])
                i = self._literal(i, q)
                piece_start = i
                continue
            if c == "#":
                end = src.find("\n", i)
                if end == -1:
                    raise Abort
                i = end
                continue
            if c in "([{":
                depth += 1
            elif c in ")]" or (c == "}" and depth):
                depth -= 1
                if depth < 0:
                    raise Abort
            elif depth == 0 and (
                c == "}"
                or (c == "!" and not src.startswith("!=", i))
                or (c == ":")
                or (c == "=" and not src.startswith("==", i) and src[i - 1] not in "=!<>" and self._debug_end(i + 1))
            ):
                self.out.append(src[piece_start:i])
                expression = "".join(self.out[mark:])
                del self.out[mark:]
                fields.append(expression)
                if not src[start:i].strip():
                    raise Abort
                return self._field_tail(i, prefix, fields)
            i += 1

    def _debug_end(self, i: int) -> bool:
        rest = self.src[i:].lstrip(" \t")
        return rest[:1] in ("}", "!", ":")

    def _prefix_quote(self, i: int) -> int | None:
        """Where the quote of a prefixed literal starting at ``i`` is (None: not a literal)."""
        src = self.src
        if i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_"):
            return None
        j = i
        while j < len(src) and src[j].isalpha() and j - i < 2:
            j += 1
        if j < len(src) and src[j] in _QUOTES and src[i:j].lower() in _PREFIXES:
            return j
        return None

    def _field_tail(self, i: int, prefix: str, fields: list[str]) -> int:
        """After a field's expression: `=`, `!conversion`, `:spec` (with fields of its own), `}`."""
        src, n = self.src, len(self.src)
        if src[i] == "=":
            i += 1
            while i < n and src[i] in " \t":
                i += 1
        if i < n and src[i] == "!":
            if src[i + 1 : i + 2] not in ("r", "s", "a"):
                raise Abort
            i += 2
            while i < n and src[i] in " \t":  # 3.12 allows `{x!r }`
                i += 1
        if i < n and src[i] == ":":
            i += 1
            while True:
                if i >= n:
                    raise Abort
                c = src[i]
                if c == "{":
                    i = self._field(i + 1, prefix, fields)
                elif c == "}":
                    return i + 1
                elif c == "\\":
                    i += 2
                else:
                    i += 1
        if i < n and src[i] == "}":
            return i + 1
        raise Abort
