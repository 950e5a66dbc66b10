"""Source that only a newer Python can parse: which version it needs, and what to tell the user.

``needed(data)`` answers only when it can prove it: every construct of a newer Python it finds
(PEP 695 ``type`` statements and type parameter lists, PEP 696 defaults, ``except*``, PEP 701
f-strings, PEP 750 t-strings, PEP 758 ``except A, B:``) is rewritten into its older equivalent,
the parts that rewriting drops (f-string expressions, bounds and defaults of type parameters) are
parsed on their own, and the whole rewritten file must then parse with the running Python (string
literals are rewritten first, by ``newer_strings``; the statements here, from tokens). A file with
an ordinary syntax error still fails after that, and is never said to need a newer Python.
``requires_python(root)`` reads the project's own lower bound; ``hint(version, hook)`` is the one
line telling a pre-commit user which ``language_version`` to set.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from awaitguard.newer_strings import RUNNING, Abort, Need, Strings, Version, expression, parses

# what ``SourceError`` messages say, so the front ends can find the version again
PARSE_FAILURE = "cannot parse with Python "
NEEDS = re.compile(r"needs Python (\d+)\.(\d+)\)$")


def text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


# ---------------------------------------------------------------------------- statements (PEP 695, 758, ...)


class _Edit(NamedTuple):
    start: int
    end: int
    text: str


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    try:
        return [
            tok
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type not in (tokenize.NL, tokenize.COMMENT)
        ]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        raise Abort from None


def _offsets(source: str) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _closing(tokens: list[tokenize.TokenInfo], at: int) -> int:
    """The index of the bracket closing the one at ``at``."""
    depth = 0
    for k in range(at, len(tokens)):
        s = tokens[k].string
        if tokens[k].type == tokenize.OP and s in "([{":
            depth += 1
        elif tokens[k].type == tokenize.OP and s in ")]}":
            depth -= 1
            if depth == 0:
                return k
    raise Abort


def _type_params(source: str, pos: list[int], tokens: list[tokenize.TokenInfo], open_at: int, close_at: int) -> Need:
    """Check a `[T: bound = default, *Ts, **P]` list: its expressions must parse; the version it needs."""
    items: list[list[tokenize.TokenInfo]] = [[]]
    depth = 0
    for tok in tokens[open_at + 1 : close_at]:
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if depth == 0 and tok.type == tokenize.OP and tok.string == ",":
            items.append([])
        else:
            items[-1].append(tok)
    if not items[-1] and len(items) > 1:
        items.pop()  # a trailing comma
    defaults = False
    for item in items:
        stars = 0
        while item and item[0].string in ("*", "**"):
            stars += len(item[0].string)
            item = item[1:]
        if stars > 2 or not item or item[0].type != tokenize.NAME:
            raise Abort
        # split on the first top-level `:` (bound) and `=` (default)
        bound: list[tokenize.TokenInfo] = []
        default: list[tokenize.TokenInfo] = []
        current: list[tokenize.TokenInfo] | None = None
        depth = 0
        for tok in item[1:]:
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
            if depth == 0 and tok.type == tokenize.OP and tok.string == ":" and current is None:
                current = bound
                continue
            if depth == 0 and tok.type == tokenize.OP and tok.string == "=" and current is not default:
                current = default
                continue
            if current is None:
                raise Abort  # something after the name that is neither a bound nor a default
            current.append(tok)
        if (current is bound and not bound) or (current is default and not default):
            raise Abort
        if bound and stars:
            raise Abort  # *Ts and **P take no bound
        for part in (bound, default):
            if part:
                expression(_span(source, pos, part[0], part[-1]))
        defaults = defaults or bool(default)
    if defaults:
        return Need((3, 13), "a type parameter with a default")
    return Need((3, 12), "a type parameter list")


def _at(pos: list[int], point: tuple[int, int]) -> int:
    return pos[point[0] - 1] + point[1]


def _span(source: str, pos: list[int], first: tokenize.TokenInfo, last: tokenize.TokenInfo) -> str:
    return source[_at(pos, first.start) : _at(pos, last.end)]


def _dotted_names(tokens: list[tokenize.TokenInfo]) -> bool:
    """Whether ``tokens`` are `a.b, c, d.e`."""
    expect_name = True
    for tok in tokens:
        if expect_name:
            if tok.type != tokenize.NAME:
                return False
            expect_name = False
        elif tok.string in (".", ","):
            expect_name = True
        else:
            return False
    return not expect_name


def _statements(source: str) -> tuple[str, list[Need]]:
    tokens = _tokens(source)
    pos = _offsets(source)
    edits: list[_Edit] = []
    needs: list[Need] = []
    starts = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    k = 0
    while k < len(tokens):
        tok = tokens[k]
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        after = tokens[k + 2] if k + 2 < len(tokens) else None
        at_start = k == 0 or tokens[k - 1].type in starts or tokens[k - 1].string == ";"
        if (
            tok.type == tokenize.NAME
            and tok.string == "type"
            and at_start
            and nxt is not None
            and nxt.type == tokenize.NAME
            and after is not None
            and after.string in ("=", "[")
            and RUNNING < (3, 13)
        ):
            # `type X[T] = value` -> `(X\n) = value` (any newlines of the list kept inside the parentheses)
            equals = k + 2
            need = Need((3, 12), "a `type` statement")
            if after.string == "[":
                close = _closing(tokens, k + 2)
                params = _type_params(source, pos, tokens, k + 2, close)
                if params.version > need.version:
                    need = Need(params.version, f"a `type` statement with {params.what}")
                equals = close + 1
            if equals >= len(tokens) or tokens[equals].string != "=":
                raise Abort
            if RUNNING < need.version:
                start, end = _at(pos, tok.start), _at(pos, tokens[equals].start)
                newlines = source[start:end].count("\n")
                edits.append(_Edit(start, end, f"({nxt.string}" + "\n" * newlines + ") "))
                needs.append(need)
            k = equals
            continue
        if (
            tok.type == tokenize.NAME
            and tok.string in ("def", "class")
            and nxt is not None
            and nxt.type == tokenize.NAME
            and after is not None
            and after.string == "["
        ):
            close = _closing(tokens, k + 2)
            params = _type_params(source, pos, tokens, k + 2, close)
            if RUNNING < params.version:
                start, end = _at(pos, after.start), _at(pos, tokens[close].end)
                newlines = source[start:end].count("\n")
                following = tokens[close + 1] if close + 1 < len(tokens) else None
                if following is not None and following.string == "(":
                    # `def f[\nT](x)` -> `def f(\nx)`: the list's newlines go inside the parentheses
                    paren = _at(pos, following.start)
                    edits.append(_Edit(start, paren + 1, "(" + "\n" * newlines))
                elif tok.string == "class":
                    edits.append(_Edit(start, end, "(" + "\n" * newlines + ")"))
                else:
                    raise Abort
                needs.append(params)
            k = close + 1
            continue
        if tok.type == tokenize.NAME and tok.string == "except" and at_start:
            first = k + 1
            if nxt is not None and nxt.string == "*":
                if RUNNING < (3, 11):
                    edits.append(_Edit(_at(pos, nxt.start), _at(pos, nxt.end), " "))
                    needs.append(Need((3, 11), "`except*`"))
                first = k + 2
            # PEP 758: `except A, B:` without parentheses
            depth, comma, named, colon, last = 0, False, False, -1, first
            for j in range(first, len(tokens)):
                t = tokens[j]
                if t.type == tokenize.OP and t.string in "([{":
                    depth += 1
                elif t.type == tokenize.OP and t.string in ")]}":
                    depth -= 1
                elif depth == 0 and t.string == ",":
                    comma, last = True, j + 1
                elif depth == 0 and t.type == tokenize.NAME and t.string == "as":
                    named = True
                elif depth == 0 and t.string == ":":
                    colon = j
                    break
                elif t.type == tokenize.NEWLINE:
                    break
            # `except ValueError, e:` and `except E, (errno, msg):` are Python 2 (3.14 would read the
            # target as a second exception type): only dotted names, the last one not a lowercase name
            names = colon > first and _dotted_names(tokens[first:colon])
            python2 = colon == last + 1 and tokens[last].type == tokenize.NAME and tokens[last].string.islower()
            if comma and not named and names and not python2 and RUNNING < (3, 14):
                a, b = _at(pos, tokens[first].start), _at(pos, tokens[colon].start)
                edits.append(_Edit(a, a, "("))
                edits.append(_Edit(b, b, ")"))
                needs.append(Need((3, 14), "`except` with several exception types and no parentheses"))
            k += 1
            continue
        k += 1
    out: list[str] = []
    last = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < last:
            raise Abort
        out.append(source[last : edit.start])
        out.append(edit.text)
        last = edit.end
    out.append(source[last:])
    return "".join(out), needs


def _needs(source: str) -> Iterator[Need]:
    strings = Strings(source)
    rewritten = strings.run()
    yield from strings.needs
    rewritten, more = _statements(rewritten)
    yield from more
    if not parses(rewritten):
        raise Abort


def needed(data: bytes | str) -> Need | None:
    """The newest Python version (and its construct) the source needs, when the running Python cannot
    parse it only because of syntax of a newer Python; None for anything else."""
    try:
        source = data if isinstance(data, str) else _decode(data)
        found = list(_needs(source))
    except Exception:  # Abort, or source this module misreads: a hint is never worth a failed scan
        return None
    newer = [need for need in found if need.version > RUNNING]
    return max(newer, key=lambda need: need.version) if newer else None


def _decode(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


# ------------------------------------------------------------------------------------------- requires-python

_BOUND = re.compile(r"^\s*(>=|==|~=|>|===)\s*(\d+)(?:\.(\d+))?")


def requires_python(root: Path) -> Version | None:
    """The lowest Python version ``[project] requires-python`` of ``root/pyproject.toml`` allows."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with open(root / "pyproject.toml", "rb") as handle:
            spec = tomllib.load(handle).get("project", {}).get("requires-python")
    except (OSError, ValueError):
        return None
    if not isinstance(spec, str):
        return None
    bounds: list[Version] = []
    for clause in spec.split(","):
        match = _BOUND.match(clause)
        if match is None:
            continue
        op, major, minor = match[1], int(match[2]), int(match[3] or 0)
        if op == ">" and match[3] is not None and not re.search(r"\d+\.\d+\.\d+", clause):
            minor += 1  # `>3.11` admits 3.11.1, but a bare minor bound means the next minor in practice
        bounds.append((major, minor))
    return max(bounds) if bounds else None


# --------------------------------------------------------------------------------------------------- the hint


def hint(version: Version, hook: str, why: str) -> str:
    """One line: what to add to ``.pre-commit-config.yaml`` so the hook runs ``version``."""
    x = text(version)
    return (
        f"{why} and this hook runs on Python {text(RUNNING)}: add `language_version: python{x}` under "
        f"`- id: {hook}` in .pre-commit-config.yaml (or `default_language_version: {{python: python{x}}}`), "
        f"or run awaitguard with Python {x}+"
    )


def advice(messages: list[str], root: Path | None, hook: str) -> str | None:
    """The hint for a run whose parse failures say ``messages``, or None when no newer Python would help."""
    messages = [message for message in messages if message.startswith(PARSE_FAILURE)]
    if not messages:
        return None
    needs = [(int(m[1]), int(m[2])) for m in map(NEEDS.search, messages) if m is not None]
    return advise(max(needs) if needs else None, root, hook)


def advise(wanted: Version | None, root: Path | None, hook: str) -> str | None:
    """The hint for code that needs ``wanted`` (None: not known), or the project's requires-python."""
    required = requires_python(root) if root is not None else None
    if required is not None and required <= RUNNING:
        required = None
    if wanted is not None and wanted <= RUNNING:
        wanted = None
    if required is not None and (wanted is None or required >= wanted):
        return hint(required, hook, f"the project requires Python {text(required)} (requires-python)")
    if wanted is None:
        return None
    return hint(wanted, hook, f"this code needs Python {text(wanted)}")


_MYPY_NEEDS = re.compile(r"requires Python (\d+)\.(\d+) or newer \(current target: Python (\d+)\.(\d+)\)")


def mypy_advice(path: str, message: str, target: Version, root: Path | None) -> str | None:
    """What to change when mypy stops on a syntax error ``message`` in ``path`` (None: nothing known).

    mypy's own parser reads newer syntax and says which version it needs (``... requires Python 3.12
    or newer (current target: Python 3.11)``); an older one fails like ``ast`` does: the file is
    examined as the scan does."""
    found = _MYPY_NEEDS.search(message)
    if found is not None:
        wanted: Version | None = (int(found[1]), int(found[2]))
        if target != RUNNING:  # the user's own `python_version`: the interpreter is not the cause
            assert wanted is not None
            return (
                f"mypy checks for Python {text(target)} (`python_version` in your mypy configuration or "
                f"`--python-version`): set it to {text(wanted)} or newer"
            )
    else:
        try:
            with open(path, "rb") as handle:
                need = needed(handle.read())
        except OSError:
            need = None
        wanted = need.version if need is not None else None
    return advise(wanted, root, hook="awaitguard-mypy")
