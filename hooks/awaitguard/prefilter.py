"""The byte prefilter: which files of a full scan are worth parsing, decided from their bytes.

Parsing is the floor of a scan's cost, so ``engine.scan_tree`` reads every file's bytes and parses
only those that can hold a finding. ``is_async`` looks for `await` or `async def`/`with`/`for` as
whole words with a C substring search per word (a regex alternation of ``\\b``-words would be tried
at every byte). A sync file is parsed only when it imports an async definition of the project by a
`from M import name` line (``imports_any``, read with ``from_imports``; `M` may be a package above the
module defining it, which may re-export it), or imports a module holding
one (`from pkg import mod`, `import pkg.mod`) and names one of its async definitions as an attribute
(`.name`), or when one of its patch
calls could make an AG201/AG202 finding (``patch_could_matter``): a small tokenizer reads each
`patch(`, `patch.object(`, `patch.multiple(` or `monkeypatch.setattr(` call's arguments from bytes
(strings hidden first, brackets counted) and collects the names a site made of it could be judged
by. Every shortcut errs towards parsing: a call it cannot read counts as mattering, so the
prefilter only ever skips files the full walk would find nothing in (``tests/test_prefilter.py``
holds it to the regular expressions and the walk it stands for).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping

from awaitguard.index import Index
from awaitguard.known import SYNC_DECORATOR_NAMES
from awaitguard.layout import is_test_code
from awaitguard.model import ModuleFacts, is_call

# A file needs a full look when it can hold a site: an await/async construct, or a patch (judged
# only when the patch could matter: see ``patch_could_matter``). A `Mock` without `patch` or
# `setattr` makes no site.
_NEEDS_PARSE = re.compile(rb"\bawait\b|\basync[ \t]+(?:def|with|for)\b|\b(?:patch|setattr)\b")
_IS_ASYNC = re.compile(rb"\bawait\b|\basync[ \t]+(?:def|with|for)\b")
# the same test word by word: a C substring search per word is several times faster than the
# regex, whose alternation of \b-words is tried at every byte of the file
_ASYNC_TAIL = re.compile(rb"[ \t]+(?:def|with|for)\b")
_ASYNC_WORDS: tuple[tuple[bytes, re.Pattern[bytes] | None], ...] = ((b"await", None), (b"async", _ASYNC_TAIL))
_PATCH_WORDS: tuple[tuple[bytes, re.Pattern[bytes] | None], ...] = ((b"patch", None), (b"setattr", None))
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_IDENT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _has_word(blob: bytes, word: bytes, tail: re.Pattern[bytes] | None) -> bool:
    """Whether ``word`` occurs as a whole ASCII word (``\\b`` of a bytes regex), followed by ``tail``."""
    size, end = len(word), len(blob)
    start = blob.find(word)
    while start != -1:
        after = start + size
        if not start or blob[start - 1] not in _IDENT:
            if tail is not None:
                if tail.match(blob, after):
                    return True
            elif after == end or blob[after] not in _IDENT:
                return True
        start = blob.find(word, after)
    return False


def needs_parse(blob: bytes) -> bool:
    """``_NEEDS_PARSE.search(blob)``, word by word."""
    return is_async(blob) or mentions_patch(blob)


def is_async(blob: bytes) -> bool:
    """``_IS_ASYNC.search(blob)``, word by word."""
    return any(_has_word(blob, word, tail) for word, tail in _ASYNC_WORDS)


def mentions_patch(blob: bytes) -> bool:
    """The rest of ``needs_parse``: the word `patch` or `setattr`."""
    return any(_has_word(blob, word, tail) for word, tail in _PATCH_WORDS)


# a patch call: `patch(`, `patch.object(`, `patch.multiple(`, `.setattr(` (any receiver)
_PATCH_CALL = re.compile(rb"\b(?:patch(?:[\s\\]*\.[\s\\]*(object|multiple))?|setattr)[\s\\]*\(")
_AWAITABLE_DOUBLES = (b"AsyncMock", b"CoroutineMock")
_SIMPLE_STRING = re.compile(rb"""[rRbBuUfF]{0,2}(['"])([^'"\\\n]*)\1""")
_KEYWORD = re.compile(rb"\b([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*=(?!=)")
_ARGUMENT_KEYWORD = re.compile(rb"[ \t\r\n\\]*([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n\\]*=(?!=)")
_BRACKETS = re.compile(rb"[()\[\]{},]")
_NOT_DOUBLES = frozenset((b"create", b"spec", b"spec_set", b"autospec", b"new_callable"))
_RECEIVER = frozenset(b".\\ \t\r\n") | _IDENT  # what `monkeypatch.setattr(` may have before `setattr`
_STRING_ONLY = b"\0()\\ \t\r\n"  # an argument that is only (implicitly joined) strings, in brackets
PATCH_SPAN = 4000  # bytes read after a patch call's `(`; a call that does not end there counts as mattering
_SPANS = (300, PATCH_SPAN)

_Argument = tuple[bytes, list[bytes]]  # an argument's code (strings hidden as NUL) and its strings


def _arguments(window: bytes, strings: list[bytes]) -> tuple[list[_Argument], dict[bytes, _Argument]] | None:
    """The positional and keyword arguments of the call whose arguments start ``window`` (strings
    hidden as NUL bytes, ``strings`` in order); None if the call does not end within it."""
    depth, end, cuts = 1, -1, []
    for bracket in _BRACKETS.finditer(window):
        char = window[bracket.start()]
        if char in b"([{":
            depth += 1
        elif char != 44:  # one of `)]}`
            depth -= 1
            if not depth:
                end = bracket.start()
                break
        elif depth == 1:  # a top-level `,`
            cuts.append(bracket.start())
    if end < 0:
        return None
    positional: list[_Argument] = []
    keywords: dict[bytes, _Argument] = {}
    start = taken = 0
    for cut in [*cuts, end]:
        code = window[start:cut]
        count = code.count(b"\0")
        found = strings[taken : taken + count]
        taken, start = taken + count, cut + 1
        keyword = _ARGUMENT_KEYWORD.match(code)
        if keyword:
            keywords[keyword.group(1)] = (code[keyword.end() :], found)
        elif code.strip():
            positional.append((code, found))
    return positional, keywords


def _string(argument: _Argument | None) -> str | None:
    """The last dotted part of a string argument (`"app.fetch"`: fetch); None if it is not a string."""
    if argument is None or not argument[1] or argument[0].strip(_STRING_ONLY):
        return None
    return b"".join(argument[1]).rsplit(b".", 1)[-1].decode("ascii", "replace")


def _words(argument: _Argument | None) -> set[str]:
    """The names an argument's value is built from (its strings' last parts; not keyword names)."""
    if argument is None:
        return set()
    code, strings = argument
    out = {word.decode() for word in _WORD.findall(_KEYWORD.sub(b"=", code))}
    out.update(text.rsplit(b".", 1)[-1].decode("ascii", "replace") for text in strings)
    return out


def _patch_call_matches(blob: bytes) -> Iterator[re.Match[bytes]]:
    """``_PATCH_CALL.finditer(blob)``, tried only where its words are (a C search; the regex's
    alternation of ``\\b``-words would be tried at every byte of the file)."""
    for word in (b"patch", b"setattr"):
        at = blob.find(word)
        while at != -1:
            match = _PATCH_CALL.match(blob, at)
            if match is not None:
                yield match
            at = blob.find(word, at + 1)


def _patch_calls(blob: bytes) -> Iterator[set[str] | None]:
    """For each patch call of ``blob``, the names a site made of it could be judged by: the last part
    of the target string (or the attribute string, or a `patch.multiple` keyword) and the names the
    double (`new`, `new_callable`, the replacement of `setattr`) is built from.

    The calls the facts walk makes no site of (``expressions.Expressions._patch_call``) give an empty set: no
    double given, `autospec`/`spec`, a `patch` whose target is not a string, a `.setattr` whose
    receiver is not a `monkeypatch`. None for a call that cannot be read from bytes (no closing
    parenthesis within ``PATCH_SPAN`` bytes, a target string with quotes or escapes inside): it counts
    as mattering.
    """
    for match in _patch_call_matches(blob):
        at, form = match.start(), match.group(1)
        is_setattr = not form and blob.startswith(b"setattr", at)
        if is_setattr:
            if not at or blob[at - 1] != ord("."):
                continue  # the builtin `setattr(obj, name, value)` patches nothing
            receiver = at
            while receiver and blob[receiver - 1] in _RECEIVER:
                receiver -= 1
            if b"monkeypatch" not in blob[receiver:at]:
                yield set()
                continue
        parsed = None
        for span in _SPANS:  # most calls end within a few lines: hiding strings is the cost
            strings: list[bytes] = []

            def hide(found: re.Match[bytes], strings: list[bytes] = strings) -> bytes:
                strings.append(found.group(2))
                return b"\0"

            window = _SIMPLE_STRING.sub(hide, blob[match.end() : match.end() + span])
            if span < PATCH_SPAN and (b'"' in window or b"'" in window):
                continue  # a string not hidden may run past the short window: read the long one
            parsed = _arguments(window, strings)
            if parsed is not None or match.end() + span >= len(blob):
                break
        if parsed is None:
            yield None
            continue
        yield _judged_names(form, is_setattr, *parsed)


def _judged_names(
    form: bytes | None, is_setattr: bool, positional: list[_Argument], keywords: dict[bytes, _Argument]
) -> set[str] | None:
    """``_patch_calls`` for one call read into its arguments (``form``: `object`, `multiple` or None)."""
    if not is_setattr:
        autospec = keywords.get(b"autospec")
        if (
            b"spec" in keywords
            or b"spec_set" in keywords
            or (autospec is not None and autospec[0].strip() not in (b"False", b"None"))
        ):
            return set()  # the double has the target's signature: never judged
    if form == b"multiple":
        out: set[str] = set()
        for key, value in keywords.items():
            if key not in _NOT_DOUBLES:
                out |= {key.decode(), *_words(value)}
        return out if positional else set()
    first = positional[0] if positional else None
    if not is_setattr and form != b"object":  # `patch("pkg.mod.name", new)`
        if first is None or _string(first) is None:
            # a target written as code makes no site; one with quotes left is a string read as code
            return None if first is not None and (b'"' in first[0] or b"'" in first[0]) else set()
    if form == b"object" or (is_setattr and _string(first) is None):  # (obj, "attr", new)
        target = _string(positional[1]) if len(positional) > 1 else None
        new = positional[2] if len(positional) > 2 else None
    else:
        target = _string(first)
        new = positional[1] if len(positional) > 1 else None
    if not is_setattr:
        new = new or keywords.get(b"new")
    replacing = None if is_setattr else keywords.get(b"new_callable")
    if new is None and replacing is None:
        return set()  # `patch("a.b")` alone: a MagicMock, never judged
    out = _words(new) | _words(replacing)
    if target is not None:
        out.add(target)
    return out


def patch_call_words(blob: bytes) -> set[str] | None:
    """Every name of every patch call of ``blob`` (``_patch_calls``); None if a call cannot be read."""
    out: set[str] = set()
    for words in _patch_calls(blob):
        if words is None:
            return None
        out |= words
    return out


def patch_could_matter(blob: bytes, names: Collection[str], assigns: bool = False) -> bool:
    """Whether a file with patches but no `async`/`await` can hold an AG201/AG202 finding.

    Such a finding needs a patch the facts walk makes a site of, with an awaitable double (an
    `AsyncMock`, or a function named in the double) or an async target (named by the target
    string's last part, the attribute string or a `patch.multiple` keyword): so some name of such a
    call must be an async name of the project or of its libraries. (A double or target named only
    through a variable is missed, as the full scan misses other indirect uses.)

    ``assigns``: the file is test code mentioning `Mock`, where `obj.method = MagicMock()` makes a site
    too (``expressions.Expressions.assigned_double``): then any attribute assigned to (``assigned_names``)
    that is an async name counts.
    """
    if any(word in blob for word in _AWAITABLE_DOUBLES):
        return True
    if assigns and not assigned_names(blob).isdisjoint(names):
        return True
    return any(words is None or not words.isdisjoint(names) for words in _patch_calls(blob))


def mentions_mock(path: str, blob: bytes) -> bool:
    """Test code (``layout.is_test_code``) that mentions `Mock`: an attribute assigned a mock there is a
    double (the facts walk's own gate, ``facts._Collector.assigns_doubles``)."""
    return b"Mock" in blob and is_test_code(path)


# `.name =` (not `==`): an attribute assigned to, across spaces, line continuations and closing brackets
_ASSIGNED = re.compile(rb"\.[\s\\]*([A-Za-z_][A-Za-z0-9_]*)[\s\\)]*=(?!=)")


def assigned_names(blob: bytes) -> set[str]:
    """Every attribute name assigned to in ``blob`` (`obj.name = ...`), a superset of the targets of the
    assigned doubles the facts walk makes sites of."""
    return {name.decode() for name in _ASSIGNED.findall(blob)}


_FROM_IMPORT = re.compile(rb"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)


def from_imports(blob: bytes) -> Iterator[re.Match[bytes]]:
    """``_FROM_IMPORT.finditer(blob)``, tried only at the line starts followed by `from`.

    The regex alone is tried at every byte of the file; `find` jumps to the few candidates.
    """
    end = 0  # matches do not overlap: the next one starts at or after the previous end
    at = blob.find(b"from")
    while at != -1:
        start = blob.rfind(b"\n", 0, at) + 1
        if start >= end and not blob[start:at].strip(b" \t"):
            match = _FROM_IMPORT.match(blob, start)
            if match is not None:
                yield match
                end = match.end()
        at = blob.find(b"from", max(at + 4, end))
    return


def async_pairs(loaded: Iterable[ModuleFacts]) -> set[tuple[str, str]]:
    """(module, name) of module-level async defs and of classes with async methods or protocols."""
    pairs: set[tuple[str, str]] = set()
    for facts in loaded:
        for name in async_names([facts], top_level=True):
            pairs.add((facts.module, name))
    return pairs


def async_generator_methods(loaded: Iterable[ModuleFacts], others: Iterable[bytes]) -> set[str]:
    """Short names of the project's `async def` methods that `yield` and that no `def` of the project shares
    (read from the facts of ``loaded`` and the bytes of the ``others`` files): a sync `for` over one
    (`for d in self._client.iter_dialogs():`) is judged in any file, the receiver known or not (an
    unannotated parameter may be known from its callers, ``callers.py``). A name a sync def has too
    (redis-py's sync and asyncio `scan_iter`) says nothing of which one a sync file iterates."""
    facts = list(loaded)
    names = {
        d.qualname.rsplit(".", 1)[-1]
        for f in facts
        for d in f.defs
        if d.kind == "function" and d.is_async and d.is_generator and "." in d.qualname
    }
    names -= {d.qualname.rsplit(".", 1)[-1] for f in facts for d in f.defs if d.kind == "function" and not d.is_async}
    if not names:
        return names
    alternatives = b"|".join(re.escape(n.encode()) for n in sorted(names))
    # a pattern that starts with its literal `def` is searched for as a substring (one that starts with a
    # line start or a look-behind tries every position: a quarter of a second on redis-py); what comes
    # before it is read after: a line start, or a blank that does not follow `async`
    sync_def = re.compile(rb"def[ \t]+(" + alternatives + rb")\b")
    for blob in others:
        for match in sync_def.finditer(blob):
            at = match.start()
            before = blob[at - 1 : at]
            if at == 0 or before == b"\n" or (before in (b" ", b"\t") and blob[max(0, at - 6) : at - 1] != b"async"):
                names.discard(match.group(1).decode())
    return names


_FOR_LINE = re.compile(rb"[ \t]*(?:async[ \t]+)?for\b[^\n]*?\bin\b([^\n]*)")
_CALLED_ATTR = re.compile(rb"\.([A-Za-z_]\w*)\(")


def iterates_any(blob: bytes, names: Collection[str]) -> bool:
    """Whether a `for` line of the file iterates a call `.name(...)` of one of ``names`` (a C substring search
    for each `for`, then its line)."""
    if not names:
        return False
    at = blob.find(b"for")
    while at != -1:
        start = blob.rfind(b"\n", 0, at) + 1
        match = _FOR_LINE.match(blob, start)
        if match is not None and any(m.group(1).decode() in names for m in _CALLED_ATTR.finditer(match.group(1))):
            return True
        end = blob.find(b"\n", at)
        at = blob.find(b"for", end) if end != -1 else -1
    return False


def names_by_module(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """The async names of ``async_pairs``, by module."""
    out: dict[str, set[str]] = {}
    for module, name in pairs:
        out.setdefault(module, set()).add(name)
    return out


def names_by_package(modules: Mapping[str, Collection[str]]) -> dict[str, set[str]]:
    """The async names of the modules under each package (`pkg.sub.mod`'s under `pkg.sub` and `pkg`): a
    package may re-export them (`from .mod import Client` in its `__init__`)."""
    out: dict[str, set[str]] = {}
    for module, names in modules.items():
        parts = module.split(".")
        for depth in range(1, len(parts)):
            out.setdefault(".".join(parts[:depth]), set()).update(names)
    return out


def imports_any(
    index: Index,
    path: str,
    blob: bytes,
    pairs: set[tuple[str, str]],
    modules: Mapping[str, Collection[str]] | None = None,
    packages: Mapping[str, Collection[str]] | None = None,
) -> bool:
    """Whether a `from M import name` line of the file names one of ``pairs`` (read from bytes), also
    through a package that may re-export it (`from pkg import Client`, `Client` defined in `pkg.client`),
    or the file imports a module of ``pairs`` (`from pkg import mod`, `import pkg.mod`) and spells one
    of its async names after a dot.

    ``modules``: ``names_by_module(pairs)``, ``packages``: ``names_by_package(modules)``, when the caller
    asks about many files.
    """
    if b"import" not in blob:
        return False
    module, is_package = index.module_of(path)
    if modules is None:
        modules = names_by_module(pairs)
    if packages is None:
        packages = names_by_package(modules)
    for imported in plain_imports(blob):
        if imported in modules and _attribute_named(blob, modules[imported]):
            return True
    for match in from_imports(blob):
        dots, source = len(match.group(1)), match.group(2).decode()
        if dots:
            parts = module.split(".")
            keep = len(parts) - (dots - 1 if is_package else dots)
            if keep < 0:
                continue
            source = ".".join([*parts[:keep], source] if source else parts[:keep])
        words = [word.decode() for word in _WORD.findall(match.group(3))]
        for word in words:  # `from pkg import mod`: a module of the project holding async names
            names = modules.get(f"{source}.{word}" if source else word)
            if names and _attribute_named(blob, names):
                return True
        if source not in modules:
            below = packages.get(source)  # a re-export of a package's own module
            if below and any(word in below for word in words):
                return True
            continue  # most imports name another package: no need to split the names
        for word in words:
            if (source, word) in pairs:
                return True
    return False


_PLAIN_IMPORT = re.compile(rb"^[ \t]*import[ \t]+([\w. \t,]+)", re.M)


def plain_imports(blob: bytes) -> Iterator[str]:
    """The modules of `import a.b, c as d` lines (each dotted name, and every package above it)."""
    at = blob.find(b"import")
    while at != -1:
        start = blob.rfind(b"\n", 0, at) + 1
        if not blob[start:at].strip(b" \t"):
            match = _PLAIN_IMPORT.match(blob, start)
            if match is not None:
                for part in match.group(1).split(b","):
                    dotted = part.split()[0].decode() if part.split() else ""
                    pieces = dotted.split(".")
                    for depth in range(1, len(pieces) + 1):
                        yield ".".join(pieces[:depth])
        at = blob.find(b"import", at + 6)


def _attribute_named(blob: bytes, names: Collection[str]) -> bool:
    """Whether `.name` occurs for one of ``names`` (a C substring search per name)."""
    return any(b"." + name.encode() in blob for name in names)


def _may_change(decorator: tuple[str, ...]) -> bool:
    """Whether a decorator might turn a `def` into something async (an unknown or async-making one)."""
    steps = [s for s in decorator if not is_call(s)]
    return not steps or steps[-1].split(":", 1)[-1].lstrip(".") not in SYNC_DECORATOR_NAMES


def declared_coroutine_names(facts: ModuleFacts) -> set[str]:
    """Names a call through which makes a coroutine by declaration alone: parameters and class attributes
    declared `Callable[..., Coroutine[...]]` (or through a type alias of the module), for the by-name filter."""
    aliases = {f"n:{n}" for n, ref in facts.bindings if ref and ref[0][:2] == "a:" and "Coroutine" in ref[0]}
    names = set()
    for scope in facts.scopes:
        for param, ref in scope.annotations:
            if ref and ((ref[0][:2] == "t:" and "Coroutine" in ref[0]) or ref[0] in aliases):
                names.add(param)
    return names


def async_names(loaded: Iterable[ModuleFacts], top_level: bool = False) -> set[str]:
    """Short names a sync file could misuse: async defs, defs whose decorator might make them async
    (a superset, for skipping sites) and classes with async protocols.

    ``top_level`` keeps module-level names only, counting a class with async methods as async.
    """
    names: set[str] = set()
    for facts in loaded:
        if not top_level:
            names |= declared_coroutine_names(facts)  # `handler: Callable[..., Coroutine[...]]`
        for defn in facts.defs:
            short = defn.qualname.rsplit(".", 1)[-1]
            if top_level and "." in defn.qualname:
                owner = defn.qualname.split(".", 1)[0]
                if defn.kind == "function" and defn.is_async and "<locals>" not in defn.qualname:
                    names.add(owner)
                continue
            if defn.kind == "function" and (
                defn.is_async
                or any(_may_change(d) for d in defn.decorators if d)
                or "Coroutine" in defn.returns_annotation  # a sync def declared to return a coroutine makes one
            ):
                names.add(short)
            elif defn.kind == "class" and ("__aenter__" in defn.members or "__aiter__" in defn.members):
                names.add(short)
    return names
