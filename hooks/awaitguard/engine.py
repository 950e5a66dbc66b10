"""files -> facts -> index -> rules -> findings, for a whole tree, some files, or a git change."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import re
import tempfile
from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from awaitguard import newer
from awaitguard.config import Config
from awaitguard.findings import CodeFilter, Finding, Notice, Related, dedupe
from awaitguard.index import FactsCache, Index, Lent, default_cache_dir, jobs_for, share, take_back
from awaitguard.libraries import Library, LibraryError, environment, find_python
from awaitguard.model import MEMO_LIMIT, FileChange, ModuleFacts, Scope
from awaitguard.resolve import KNOWN_COROUTINE_NAMES, SYNC_DECORATOR_NAMES, Resolver
from awaitguard.rules import FAMILIES
from awaitguard.rules.missing import check_removed
from awaitguard.tree import FsTree, Tree, excluded
from awaitguard.values import Value

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

    The calls the facts walk makes no site of (``facts._Collector._patch_call``) give an empty set: no
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


def patch_could_matter(blob: bytes, names: Collection[str]) -> bool:
    """Whether a file with patches but no `async`/`await` can hold an AG201/AG202 finding.

    Such a finding needs a patch the facts walk makes a site of, with an awaitable double (an
    `AsyncMock`, or a function named in the double) or an async target (named by the target
    string's last part, the attribute string or a `patch.multiple` keyword): so some name of such a
    call must be an async name of the project or of its libraries. (A double or target named only
    through a variable is missed, as the full scan misses other indirect uses.)
    """
    if any(word in blob for word in _AWAITABLE_DOUBLES):
        return True
    return any(words is None or not words.isdisjoint(names) for words in _patch_calls(blob))


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    files_total: int = 0
    files_parsed: int = 0
    note: str = ""

    def said(self) -> list[Notice]:
        """Besides the findings: the files that could not be scanned (errors), then the note about the
        run as a whole, if any (``Notice.note``: not an error)."""
        return [*self.notices, *([Notice.note(self.note)] if self.note else [])]


def make_index(config: Config, tree: Tree, cache: bool, workers: int) -> Index:
    """The index of ``tree``, with the project's libraries. Raises ``LibraryError`` for a bad `python`."""
    facts_cache = FactsCache(default_cache_dir()) if cache and config.cache else None
    roots = config.src or _default_roots(tree)
    # library facts live apart (``lib/``): clearing the project's cache keeps them, and the reverse
    library_cache = FactsCache(default_cache_dir() / "lib") if cache and config.cache else None
    library = make_library(config, library_cache) if config.libraries else None
    return Index(tree, roots=roots, cache=facts_cache, workers=workers, library=library)


def release(index: Index) -> None:
    """Close the caches ``index`` opened (they open again if it is used once more)."""
    if index.cache is not None:
        index.cache.close()
    if index.library is not None and index.library.cache is not None:
        index.library.cache.close()


_LIBRARIES: dict[tuple[str, str | None, tuple[str, ...], bool], Library] = {}


def make_library(config: Config, cache: FactsCache | None) -> Library:
    """One library per process and settings (a change and its base share what they load)."""
    python = find_python(config.root, config.python)
    key = (str(config.root), python, config.stub_paths, cache is not None)
    found = _LIBRARIES.get(key)
    if found is None:
        for folder in config.stub_paths:
            if not (config.root / folder).is_dir():
                raise LibraryError(f"[tool.awaitguard] `stub-paths`: {folder}: no such folder")
        stub_dirs = [(str(config.root / folder), folder.strip("/")) for folder in config.stub_paths]
        try:
            env = environment(config.root, python)
        except LibraryError:
            if config.python:
                raise  # the user's own setting: say so
            env = environment(config.root, None)  # a broken `.venv` found by looking: use our own packages
        found = _LIBRARIES[key] = Library(env, stub_dirs, cache)
    return found


def library_names(index: Index, loaded: Iterable[ModuleFacts]) -> set[str]:
    """Async names of the library packages the project imports (every module of each, from bytes)."""
    if index.library is None:
        return set()
    tops = {imp.module.split(".")[0] for facts in loaded for imp in facts.imports if imp.module}
    names: set[str] = set()
    for top in sorted(tops):
        if not index.has_module(top):
            names |= index.library.package_names(top)
    return names


def _default_roots(tree: Tree) -> tuple[str, ...]:
    roots = [""]
    files = tree.files()
    if any(p.startswith("src/") for p in files):
        roots.append("src")
    return tuple(roots)


NAMED_ALWAYS_PARSED = 100
READ_BATCH = 256  # files read (and sorted into primary or not) between hand-offs to the parsing workers
# sites of these kinds can only matter when the called name is an async definition's name
_BY_NAME = frozenset({"drop", "with", "for"})


_FAMILIES_OF = {kind: tuple(f for f in FAMILIES if kind in f.KINDS) for family in FAMILIES for kind in family.KINDS}
_SHORT_NAMES: dict[tuple[str, ...], str] = {}  # ``_short_name`` of refs met so far (the same refs recur)


def _short_name(ref: tuple[str, ...]) -> str:
    for step in reversed(ref):
        if step.startswith((".", "n:")):
            return step.split(":", 1)[-1].lstrip(".")
    return ""


def run_rules(
    resolver: Resolver, facts: ModuleFacts, kinds: Collection[str] | None = None, names: Collection[str] | None = None
) -> list[Finding]:
    """Every rule family over every site of ``facts`` (optionally only sites of ``kinds``).

    With ``names`` (every async name of the project), a dropped call, `with` or `for` whose callee
    name (or the name it was imported as) is none of them is skipped without resolving it.
    """
    out: list[Finding] = []
    aliases: set[str] = set()
    if names is not None:
        aliases = {imp.name for imp in facts.imports if imp.attr in names}
    shorts = _SHORT_NAMES
    for site in facts.sites:
        kind = site.kind
        if kinds is not None and kind not in kinds:
            continue
        # a `with` over a variable (`with self.lock:`) is always judged: few, and its type is the question
        if names is not None and kind in _BY_NAME and not (kind == "with" and site.ref[-1:] != ("()",)):
            short = shorts.get(site.ref)
            if short is None:
                if len(shorts) >= MEMO_LIMIT:
                    shorts.clear()  # a long-lived process (dmypy) meets refs without end
                short = shorts[site.ref] = _short_name(site.ref)
            if short not in names and short not in aliases:
                continue
        for family in _FAMILIES_OF.get(kind, ()):
            out.extend(family.check(resolver, facts, site))
    return [f for f in out if not facts.suppressed(f.line, f.code)]


def finish(
    findings: Iterable[Finding], config: Config, select_codes: Sequence[str], ignore_codes: Sequence[str]
) -> list[Finding]:
    return dedupe(CodeFilter.of(config, select_codes, ignore_codes).apply(findings))


# -- whole tree -----------------------------------------------------------------------------------
def scan_tree(index: Index, paths: Sequence[str] | None = None, exclude: Sequence[str] = ()) -> Result:
    """A full scan: files that can hold a site, plus sync files importing an async definition.

    Parsing is the floor of the cost, so files are chosen from their bytes: those with an
    `await` or `async def`/`with`/`for`, those asked for by name, then the sync files whose
    `from M import name` lines name an async definition of the project, then the sync files
    whose patch calls name an async definition or an `AsyncMock`. Modules that a resolution
    needs are parsed on demand.
    """
    tree = index.tree
    files = [p for p in (paths if paths is not None else tree.files()) if not excluded(p, exclude)]
    # a few files asked for by name are always parsed (so their syntax errors are reported); a long
    # list (`pre-commit run --all-files` passes every file) goes through the prefilter like --all
    named = set(paths) if paths is not None and len(paths) <= NAMED_ALWAYS_PARSED else set()
    data: dict[str, bytes] = {}
    primary: list[str] = []
    patching: list[str] = []  # no async construct, but a patch: judged once the async names are known
    # files on disk are read a slice at a time, so worker processes parse the first while this one reads on
    step = READ_BATCH if isinstance(tree, FsTree) else max(1, len(files))

    def read() -> Iterator[list[str]]:
        for start in range(0, len(files), step):
            batch = tree.read(files[start : start + step])
            data.update(batch)
            found: list[str] = []
            for path, blob in batch.items():
                if path in named or is_async(blob):
                    found.append(path)
                elif mentions_patch(blob):
                    patching.append(path)
            primary.extend(found)
            yield found

    loaded = index.load_batches(read(), data)
    judge = _Judge(index, loaded)  # judging what needs no names starts now, in a forked process
    try:
        pairs = async_pairs(loaded)
        modules = {source for source, _ in pairs}
        primary_set = set(primary)
        secondary = [
            path
            for path in files
            if path not in primary_set and path in data and imports_any(index, path, data[path], pairs, modules)
        ]
        with judge.lend() as lent:
            loaded += index.load(secondary, data, lent=lent)
        every_name = (
            async_names(loaded) | async_names(index.stub_facts()) | KNOWN_COROUTINE_NAMES | library_names(index, loaded)
        )
        secondary_set = set(secondary)
        tertiary = [p for p in patching if p not in secondary_set and patch_could_matter(data[p], every_name)]
        if tertiary:
            with judge.lend() as lent:
                more = index.load(tertiary, data, lent=lent)
            loaded += more
            every_name |= async_names(more) | library_names(index, more)
        findings = judge.finish(loaded, every_name)
    finally:
        judge.close()
    notices = settle(index, set(files), "only read to resolve names")
    return Result(findings, notices, len(files), index.parsed)


_FORKED: tuple[Resolver, list[ModuleFacts]] | None = None  # read by forked judges only
_NAMES: dict[str, set[str]] = {}  # in a forked judge: the async names, read once from the file named
JUDGE_CHUNKS = 64  # parts of the files a parallel judgement is split into (shared out as they finish)
# sites judged whatever the async names: awaits, `async with`/`async for`, patches
_NOT_BY_NAME = frozenset(_FAMILIES_OF) - _BY_NAME


def _judged(
    resolver: Resolver, loaded: Iterable[ModuleFacts], names: set[str] | None, kinds: Collection[str] | None = None
) -> list[Finding]:
    return [finding for facts in loaded for finding in run_rules(resolver, facts, kinds, names)]


Part = tuple[int, int, bool]  # (start, stop, by name) of the files a process judges at once


def _judged_part(resolver: Resolver, loaded: list[ModuleFacts], part: Part, names: set[str] | None) -> list[Finding]:
    """The sites of ``loaded[start:stop]`` judged by name (``names``), or the others
    (``_NOT_BY_NAME``, which need no names)."""
    start, stop, by_name = part
    if by_name:
        return _judged(resolver, loaded[start:stop], names, _BY_NAME)
    return _judged(resolver, loaded[start:stop], None, _NOT_BY_NAME)


def _judge_part(part: Part, names_file: str) -> list[Finding]:
    """``_judged_part`` in a forked judge, the names read once from ``names_file`` ("" before they are known)."""
    assert _FORKED is not None
    resolver, loaded = _FORKED
    names = _NAMES.get(names_file)
    if names is None and names_file:
        with open(names_file, "rb") as handle:
            names = _NAMES[names_file] = pickle.load(handle)
    return _judged_part(resolver, loaded, part, names)


class _Judge:
    """Running the rules over a full scan's files, begun before the async names are known.

    With a forked process (a large tree, several cores), the fork comes as soon as the files with
    `async`/`await` are parsed: it judges their sites that need no names (awaits, `async with`,
    patches) while this process chooses, parses and names the rest (the forked process parses
    too, ``lend``: no process is forked beside a running one). Then the sites judged by name, and
    what the forked process has not begun, are shared out in chunks (``index.share``); this process
    judges the files it parsed since the fork. Without, one serial judgement at the end.
    """

    def __init__(self, index: Index, first: list[ModuleFacts]) -> None:
        global _FORKED
        self.index = index
        self.first = list(first)  # the caller's list grows; the forked process has these
        # one resolver for every chunk of a process: what it has worked out (module tables, names,
        # results) holds for any file, as in a serial judgement
        self.resolver = Resolver(index)
        workers = jobs_for(index.workers, len(first) // 10)
        self.serial = workers <= 1 or "fork" not in multiprocessing.get_all_start_methods()
        self.helpers = workers - 1
        self._stack = contextlib.ExitStack()
        self._early: list[tuple[Part, Future[list[Finding]]]] = []
        if self.serial:
            return
        _FORKED = (self.resolver, self.first)
        context = multiprocessing.get_context("fork")
        self._pool = self._stack.enter_context(ProcessPoolExecutor(max_workers=self.helpers, mp_context=context))
        # the first submit forks every worker, before any thread of this process runs
        self._early = self._queue(self._parts(by_name=False))

    @contextlib.contextmanager
    def lend(self) -> Iterator[Lent | None]:
        """The forked processes, lent for parsing: the judging parts they have not begun wait
        (taken off their queue, queued again after), so parsing is next for them. None when the
        judgement is serial: a load then starts workers of its own, as no other process runs."""
        if self.serial:
            yield None
            return
        waiting, self._early = take_back(self._early)
        try:
            yield Lent(self._pool, self.helpers)
        finally:
            self._early += self._queue(waiting)

    def _queue(self, parts: list[Part], names_file: str = "") -> list[tuple[Part, Future[list[Finding]]]]:
        return [(part, self._pool.submit(_judge_part, part, names_file)) for part in parts]

    def _parts(self, by_name: bool) -> list[Part]:
        size = len(self.first)
        return [(size * i // JUDGE_CHUNKS, size * (i + 1) // JUDGE_CHUNKS, by_name) for i in range(JUDGE_CHUNKS)]

    def finish(self, loaded: list[ModuleFacts], names: set[str]) -> list[Finding]:
        """Findings of every site of ``loaded`` (``first`` and the files parsed since)."""
        if self.serial:
            return _judged(self.resolver, loaded, names)
        index = self.index
        # modules parsed on demand here count (and report) nothing, as in the forked processes
        parsed, notices = index.parsed, len(index.notices)
        folder = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="awaitguard-"))
        names_file = os.path.join(folder, "names")
        with open(names_file, "wb") as handle:
            pickle.dump(names, handle, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            # every part by name is queued for the workers before this process judges the files the
            # fork never saw; then the parts no worker has begun are shared out again
            self._early += self._queue(self._parts(by_name=True), names_file)
            out = _judged(self.resolver, loaded[len(self.first) :], names)
            parts, begun = take_back(self._early)
            found: list[list[Finding]] = [[] for _ in parts]

            def local(at: int) -> None:
                found[at] = _judged_part(self.resolver, self.first, parts[at], names)

            def remote(at: int) -> Future[list[Finding]]:
                return self._pool.submit(_judge_part, parts[at], names_file)

            def done(at: int, result: list[Finding]) -> None:
                found[at] = result

            share(len(parts), self.helpers, local, remote, done)
            out += [finding for _, future in begun for finding in future.result()]
            return out + [finding for part in found for finding in part]
        finally:
            index.parsed = parsed
            del index.notices[notices:]

    def close(self) -> None:
        global _FORKED
        for _, future in self._early:
            future.cancel()
        self._stack.close()
        _FORKED = None


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


def imports_any(
    index: Index, path: str, blob: bytes, pairs: set[tuple[str, str]], modules: Collection[str] | None = None
) -> bool:
    """Whether a `from M import name` line of the file names one of ``pairs`` (read from bytes).

    ``modules``: the modules of ``pairs``, when the caller asks about many files.
    """
    if b"import" not in blob:
        return False
    module, is_package = index.module_of(path)
    if modules is None:
        modules = {source for source, _ in pairs}
    for match in from_imports(blob):
        dots, source = len(match.group(1)), match.group(2).decode()
        if dots:
            parts = module.split(".")
            keep = len(parts) - (dots - 1 if is_package else dots)
            if keep < 0:
                continue
            source = ".".join([*parts[:keep], source] if source else parts[:keep])
        if source not in modules:
            continue  # most imports name another package: no need to split the names
        for word in _WORD.findall(match.group(3)):
            if (source, word.decode()) in pairs:
                return True
    return False


def _may_change(decorator: tuple[str, ...]) -> bool:
    """Whether a decorator might turn a `def` into something async (an unknown or async-making one)."""
    steps = [s for s in decorator if s != "()"]
    return not steps or steps[-1].split(":", 1)[-1].lstrip(".") not in SYNC_DECORATOR_NAMES


def async_names(loaded: Iterable[ModuleFacts], top_level: bool = False) -> set[str]:
    """Short names a sync file could misuse: async defs, defs whose decorator might make them async
    (a superset, for skipping sites) and classes with async protocols.

    ``top_level`` keeps module-level names only, counting a class with async methods as async.
    """
    names: set[str] = set()
    for facts in loaded:
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


# -- a git change ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Flip:
    module: str
    qualname: str
    path: str  # where the new definition is (or the old one, when removed)
    line: int
    change: str  # "was `async def` before this commit"


def _summary(resolver: Resolver, value: Value) -> tuple[object, ...]:
    """What callers depend on: awaitability of calling it, and its async protocols."""
    if value.kind == "function":
        result = resolver.call(value)
        return (
            "function",
            result.kind
            if result.kind in ("coroutine", "asyncgen", "gen", "sync-cm", "async-cm")
            else result.awaitable(),
        )
    if value.kind == "class":
        members = ("__await__", "__aenter__", "__enter__", "__aiter__", "__iter__")
        return ("class", *(resolver.class_has(value, m) for m in members))
    return (value.kind,)


def _describe(old: Value, new: Value) -> str:
    if old.kind == "function" and old.defn is not None and new.defn is not None and old.kind == new.kind:
        if old.defn.is_async != new.defn.is_async:
            return f"was `{'async def' if old.defn.is_async else 'def'}` before this commit"
        return "its result changed awaitability in this commit"
    if old.kind == "class" and new.kind == "class":
        return "its async protocol methods changed in this commit"
    return "it points elsewhere since this commit"


def _module_names(facts: ModuleFacts) -> set[str]:
    names = {d.qualname for d in facts.defs if "<locals>" not in d.qualname and d.qualname.count(".") <= 1}
    names |= {i.name for i in facts.imports if not i.scope and i.name}
    names |= {n for n, _ in facts.bindings}
    return names


def compare(
    old_index: Index, new_index: Index, changes: Sequence[FileChange]
) -> tuple[list[Flip], dict[tuple[str, str], tuple[str, int, str]]]:
    """Definitions whose awaitability flipped, and definitions that disappeared."""
    old_resolver = Resolver(old_index)
    new_resolver = Resolver(new_index)
    flips: list[Flip] = []
    removed: dict[tuple[str, str], tuple[str, int, str]] = {}
    for change in changes:
        old_path = change.old_path or (change.path if change.status in ("M", "D") else None)
        if old_path is None or not old_path.endswith((".py", ".pyi")):
            continue
        old_facts = old_index.facts_for_path(old_path)
        if old_facts is None:
            continue
        new_facts = new_index.facts_for_path(change.path) if change.status != "D" else None
        new_names = _module_names(new_facts) if new_facts is not None else set()
        old_module = old_facts.module
        moved = new_facts is None or new_facts.module != old_module
        old_top = {d.qualname: d for d in old_facts.defs if "." not in d.qualname}
        new_top = {d.qualname for d in new_facts.defs if "." not in d.qualname} if new_facts else set()
        gone = [n for n in old_top if n not in new_names or moved]
        added = sorted(new_top - set(old_top))
        for name in gone:
            defn = old_top[name]
            if moved:
                change_text = (
                    "its module was deleted or moved"
                    if new_facts is None
                    else f"its module moved to `{new_facts.module}`"
                )
            elif len(gone) == 1 and len(added) == 1:
                change_text = f"renamed to `{added[0]}`"
            else:
                change_text = "deleted"
            removed[(old_module, name)] = (old_path, defn.line, change_text)
        if new_facts is None or moved:
            continue
        for qualname in sorted(_module_names(old_facts) & new_names):
            old_value = old_resolver.lookup(old_module, qualname)
            new_value = new_resolver.lookup(new_facts.module, qualname)
            if new_value.kind == "unknown" or old_value.kind == "unknown":
                continue
            if _summary(old_resolver, old_value) == _summary(new_resolver, new_value):
                continue
            new_defn = new_value.defn
            flips.append(
                Flip(
                    new_facts.module,
                    qualname,
                    new_value.path or change.path,
                    new_defn.line if new_defn else 1,
                    _describe(old_value, new_value),
                )
            )
    return flips, removed


def scan_change(scope: Scope, new_index: Index, old_index: Index | None, exclude: Sequence[str] = ()) -> Result:
    """Findings on the changed lines, plus everything the changed definitions break elsewhere."""
    resolver = Resolver(new_index)
    result = Result(note=scope.note)
    changes = [c for c in scope.changes if c.path.endswith((".py", ".pyi")) and not excluded(c.path, exclude)]
    findings: list[Finding] = []
    changed_paths = [c.path for c in changes if c.status != "D"]
    for facts in new_index.load(changed_paths):
        lines = next((c.lines for c in changes if c.path == facts.path), frozenset())
        status = next((c.status for c in changes if c.path == facts.path), "M")
        for finding in run_rules(resolver, facts):
            if status == "A" or finding.line in lines:
                findings.append(finding)
    if old_index is not None:
        flips, removed = compare(old_index, new_index, changes)
        findings.extend(_impact(resolver, new_index, flips))
        findings.extend(_removed(resolver, new_index, removed))
    result.findings = findings
    touched = _rewritten([n.path for n in new_index.notices], changes, new_index, old_index)
    result.notices = settle(new_index, touched, "not changed by this commit")
    result.files_total = len(changes)
    result.files_parsed = new_index.parsed
    return result


def _rewritten(paths: Iterable[str], changes: Sequence[FileChange], new: Index, old: Index | None) -> set[str]:
    """Those of ``paths`` whose content the change rewrote: added, or other bytes than before (a
    comment counts); not a pure rename or a mode change."""
    wanted = set(paths)
    out: set[str] = set()
    for change in changes:
        if change.status == "D" or change.path not in wanted:
            continue
        before = change.old_path or (change.path if change.status == "M" else None)
        if old is None or before is None:
            out.add(change.path)
            continue
        old_data = old.tree.read([before]).get(before)
        if old_data is None or old_data != new.tree.read([change.path]).get(change.path):
            out.add(change.path)
    return out


def settle(index: Index, in_scope: Collection[str], why: str) -> list[Notice]:
    """The index's notices as the run reports them: a file in scope that cannot be scanned is an
    error; one only read on the way (a caller found for impact analysis, a module an import needs)
    is one note, as is the Python version that would parse the code, when one would."""
    errors: list[Notice] = []
    skipped: list[Notice] = []
    seen: set[tuple[str, int, str]] = set()
    for notice in index.notices:
        key = (notice.path, notice.line, notice.message)
        if key in seen:
            continue  # a module loaded again after it failed fails again
        seen.add(key)
        if notice.is_note or notice.path in in_scope:
            errors.append(notice)
        else:
            skipped.append(notice)
    out = list(errors)
    if skipped:
        said = [f"{n.path}:{n.line}: {n.message}" if n.line else f"{n.path}: {n.message}" for n in skipped[:3]]
        more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        out.append(Notice.note(f"not scanned ({why}): {'; '.join(said)}{more}"))
    root = getattr(index.tree, "root", None)
    line = newer.advice([n.message for n in index.notices if not n.is_note], root, "awaitguard-scan")
    if line is not None:
        out.append(Notice.note(line))
    return out


def _impact(resolver: Resolver, index: Index, flips: Sequence[Flip]) -> list[Finding]:
    if not flips:
        return []
    by_short: dict[str, list[Flip]] = {}
    for flip in flips:
        by_short.setdefault(flip.qualname.rsplit(".", 1)[-1], []).append(flip)
    candidates = sorted(index.tree.grep(set(by_short)))
    where = {(f.path, f.line): f for f in flips}
    out: list[Finding] = []
    for facts in index.load(candidates):
        for finding in run_rules(resolver, facts):
            hit = next((where[(r.path, r.line)] for r in finding.related if (r.path, r.line) in where), None)
            if hit is None and finding.code in ("AG201", "AG202"):
                target = finding.kwargs.get("target", "")
                hit = next((f for f in flips if target.endswith(f.qualname)), None)
            if hit is None:
                continue
            related = [
                Related(
                    r.path,
                    r.line,
                    r.col,
                    f"{r.note} ({hit.change})" if (r.path, r.line) == (hit.path, hit.line) else r.note,
                )
                for r in finding.related
            ] or [Related(hit.path, hit.line, 1, f"`{hit.qualname}` changed: {hit.change}")]
            out.append(
                Finding(finding.path, finding.line, finding.col, finding.code, finding.args, tuple(related), True)
            )
    return out


def _removed(resolver: Resolver, index: Index, removed: dict[tuple[str, str], tuple[str, int, str]]) -> list[Finding]:
    if not removed:
        return []
    candidates = sorted(index.tree.grep({name for _, name in removed}))
    out: list[Finding] = []
    for facts in index.load(candidates):
        out.extend(f for f in check_removed(resolver, facts, removed) if not facts.suppressed(f.line, f.code))
    return out
