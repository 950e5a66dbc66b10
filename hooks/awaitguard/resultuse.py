"""How a function uses a name bound to a call's result, read in its source text: the search behind
AG102's "assigned" sites (``result_use``), in bytes rather than nodes because only a few of the
bound names are ever asked about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from awaitguard.uses import coroutine_protocol

# a line binding a name to what follows it: `view = ` before `word` (the alias of ``result_use``)
_ALIAS = re.compile(rb"[ \t]*(\w+)[ \t]*=[ \t]*$")
# a line whose targets are plain names, one of them unpacked (`a, b = `, `(a, b) = `)
_TARGETS = re.compile(rb"[ \t]*\(?[ \t]*\w+[ \t]*(?:,[ \t]*\w+[ \t]*)+,?[ \t]*\)?[ \t]*=(?!=)")
_ANNOTATED = re.compile(rb":[^=\n]*=(?!=)")  # after a name: an annotated assignment's `: T =`
_ATTRIBUTE = re.compile(rb"\.[ \t]*(\w+)")
_SEND = re.compile(rb"\.[ \t]*send[ \t]*\((?![ \t]*\))")  # `.send(value)`, not `.send()`


# after the name: an operator that uses its value (`c + 1`, `c == 1`, `c < 2`); `c += 1` counts too
_OPERATOR = re.compile(rb"(==|!=|<=|>=|\*\*|//|[-+*/%@<>])(?!=)|([-+*/%@]=)")


# before the name: a truth test (`if c:`, `while c:`, `not c`, `assert c`, `x if c else y`) or `in c`
_BEFORE = re.compile(rb"(?:^|[^\w.])(?<!is )(if|elif|while|not|assert|in)[ \t]+$")


# after the name, where a truth test or an `in` ends: `if c:`, `not c)`, `x in c and ...`, `assert c, "..."`
_TEST_END = re.compile(rb"(?:[:),\]]|\n|$|(?:and|or|else)\b)")


def result_use(text: bytes, word: bytes, consumed: int | None = None, aliases: list[bytes] | None = None) -> str:
    """How ``text`` uses the name ``word`` as if it held a call's result, when ``text`` binds it once
    (``word = ...``) and uses it in no other way; else "". The first such use, as written after the
    name: ``.attr`` (not a coroutine's own: ``close``, ``throw``, ``cr_*`` ...), ``.send(`` (a value sent
    in: the caller proves it is not `None`, which a just-started coroutine refuses), ``[``, ``(`` (called),
    `` +`` / `` ==`` / `` <`` (an operand), `` if`` (tested for truth), `` in`` (searched), `` for`` (iterated),
    `` {`` (in an f-string), `` ->`` (an argument of one of the ``consumed`` consumer calls the caller
    found by its nodes: ``uses.argument_uses``). Occurrences after a dot (``obj.word``) are another
    object's attribute. Any other use (passed on, awaited, returned, rebound, a parameter of a nested
    function) may be what the coroutine is for. With ``consumed`` None, a name that is also passed as an
    argument (`word)`, `word,`) and used in no other way gives "?": ask again with the count of consumer
    calls (a walk of the function's nodes, only for the few names that get this far). Given ``aliases``, an
    occurrence that is the whole value of a name's assignment on its own line (`view = word`) is collected
    there instead of ending the search (emptied when the answer is "" for another reason)."""
    found = _result_use(text, word, consumed, aliases)
    if found is None:
        if aliases:
            aliases.clear()
        return ""
    return found


def _result_use(text: bytes, word: bytes, consumed: int | None, aliases: list[bytes] | None) -> str | None:
    """``result_use``, with None for "some use may want the coroutine itself"."""
    first = ""
    asked = False
    bindings = 0
    for start, rest in _occurrences(text, word):
        head = rest[:1]
        if head == b".":
            found = _ATTRIBUTE.match(rest)
            attr = found.group(1).decode() if found else ""
            if attr == "send" and _SEND.match(rest):
                first = first or ".send("
            elif not attr or coroutine_protocol(attr):
                return None
            else:
                first = first or f".{attr}"
        elif head == b"[":
            first = first or "["
        elif head == b"(":
            if text[max(0, start - 4) : start].rstrip(b" \t").endswith(b"def"):
                return None  # `def word(`: another function of that name
            first = first or "("
        elif (
            (head == b"=" and rest[1:2] != b"=")
            or (head == b"," and _in_targets(text, start))
            or (head == b":" and _ANNOTATED.match(rest) and not text[text.rfind(b"\n", 0, start) + 1 : start].strip())
        ):
            bindings += 1  # `word = ...`, one of the names of `word, other = ...`, or `word: T = ...` (its own line)
            if bindings > 1:
                return None
        elif (operator := _OPERATOR.match(rest)) is not None:
            if operator.group(2) is not None:  # `c += 1`: TypeError, and a rebinding
                first = first or f" {operator.group(2).decode()}"
            else:
                first = first or f" {operator.group(1).decode()}"
        elif (test := _BEFORE.search(text, max(0, start - 12), start)) is not None and _TEST_END.match(rest):
            line = text[text.rfind(b"\n", 0, start) + 1 : start].lstrip(b" \t")
            if test.group(1) != b"in":
                first = first or " if"
            elif line.startswith(b"for ") and rest[:1] == b":":
                first = first or " for"  # `for x in c:`
            elif line.startswith(b"async ") or b" for " in line:
                return None  # `async for x in c`: an async iterable may be wanted; a comprehension's
            else:
                first = first or " in"
        elif head in (b"}", b"!") and text[:start].rstrip(b" \t").endswith(b"{") and _in_fstring(text, start):
            first = first or " {"
        elif (
            aliases is not None
            and head in (b"", b"\n", b"#")
            and (alias := _ALIAS.match(text, text.rfind(b"\n", 0, start) + 1, start)) is not None
        ):
            aliases.append(alias.group(1))  # `view = word`: the alias's uses are the caller's to read
        elif head in (b")", b",") and consumed is None:
            asked = True
        elif head in (b")", b",") and consumed:
            consumed -= 1  # one of the consumer calls' arguments (no more of these than the caller found)
            first = first or " ->"
        else:
            return None
    if bindings != 1:
        return None
    return "?" if asked else first


def argument_lines(text: bytes, word: bytes) -> set[int]:
    """The lines (counted from 0) where ``text`` passes the name ``word`` on (`word)`, `word,`) or sends it a
    value (`word.send(`): where ``uses.argument_uses`` looks for the calls."""
    found: set[int] = set()
    line = counted = 0
    for start, rest in _occurrences(text, word):
        if rest[:1] in (b")", b",") or _SEND.match(rest):
            line += text.count(b"\n", counted, start)
            counted = start
            found.add(line)
    return found


def without_prose(text: bytes, word: bytes, docstring: tuple[int, int] = (0, 0)) -> bytes:
    """``text`` (a function's source) with each occurrence of ``word`` that stands in prose blanked: in a
    comment, in a string other than an f-string, or in the docstring (its span of bytes). Read line by line,
    which is exact where no other string spans lines; where one does, ``text`` is returned as it is (the name
    written in prose then hides its uses, as any unclassified occurrence does)."""
    begin, end = docstring
    prose = [start for start, _ in _occurrences(text, word) if begin <= start < end or _in_prose(text, start)]
    if not prose:
        return text
    if any(text.find(mark, end) != -1 or text.rfind(mark, 0, begin) != -1 for mark in _SPANNING):
        return text  # a string over several lines: its lines cannot be read one by one
    out = bytearray(text)
    size = len(word)
    for start in prose:
        out[start : start + size] = b" " * size
    return bytes(out)


_SPANNING = (b'"""', b"'''", b"\\\n")  # what makes a string span lines


def _in_prose(text: bytes, start: int) -> bool:
    """Whether the word at ``start`` stands in a comment or in a string, as its line tells (exact unless a
    string spans lines). From an f-string on, the line is not read (since 3.12 its expressions may hold quotes
    of its own kind): the word counts as code."""
    line = text.rfind(b"\n", 0, start) + 1
    before = text[line:start]
    if b"#" not in before and b'"' not in before and b"'" not in before:
        return False  # most lines: nothing before the word can open a comment or a string
    quote = 0
    position = line
    while position < start:
        char = text[position]
        if quote:
            if char == 92:  # a backslash escapes what follows
                position += 1
            elif char == quote:
                quote = 0
        elif char in (34, 39):  # `"`, `'`: a string opens
            prefix = position
            while prefix > line and text[prefix - 1] in _PREFIXES:
                prefix -= 1
            if b"f" in text[prefix:position].lower():
                return False
            quote = char
        elif char == 35:  # `#` outside a string: a comment to the end of the line
            return True
        position += 1
    return quote != 0


_PREFIXES = frozenset(b"rRbBuUfF")


def _occurrences(text: bytes, word: bytes) -> Iterator[tuple[int, bytes]]:
    """Where ``word`` stands in ``text`` as a name of its own (not part of a longer name, nor after a dot):
    its offset, and the (up to 80) bytes that follow it, leading blanks dropped."""
    size = len(word)
    start = text.find(word)
    while start != -1:
        end = start + size
        before = text[start - 1 : start] if start else b""
        after = text[end : end + 1]
        if not (before.isalnum() or before in (b"_", b".") or after.isalnum() or after == b"_"):
            yield start, text[end : end + 80].lstrip(b" \t")
        start = text.find(word, end)


def _in_targets(text: bytes, start: int) -> bool:
    """Whether the name at ``start`` is one of the names a line unpacks into (`word, other = x(), 1`)."""
    line_start = text.rfind(b"\n", 0, start) + 1
    end = text.find(b"\n", start)
    targets = _TARGETS.match(text, line_start, len(text) if end == -1 else end)
    return targets is not None and start < targets.end()


def _in_fstring(text: bytes, start: int) -> bool:
    """Whether the line up to ``start`` opens an f-string (`f"...{c}"`): `{c}` elsewhere is a set display."""
    line = text[text.rfind(b"\n", 0, start) + 1 : start]
    return any(prefix in line for prefix in (b'f"', b"f'", b'F"', b"F'"))
