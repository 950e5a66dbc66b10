"""The scan pipeline: files -> facts -> awaitability -> rules -> findings, for a tree or a git change.

A full scan (``scan_tree``) reads the files, keeps those the byte prefilter says can hold a site
(``prefilter``), has them parsed into per-module facts (``index``: cached in ``cache``, parsed in
worker processes by ``parsing``), resolves what each site's expression is and whether it is
awaitable (``resolve``), and runs the rule families over the sites (``judge``; in parallel by
``parallel``). A change (``scan_change``) judges the changed lines, then what the changed
definitions break elsewhere (``impact``). ``finish`` applies the user's code selection, and
``settle`` turns files that could not be read into errors or one note. The speed machinery lives
in those modules; this one only says in which order they run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from awaitguard.config import Config, Policy
from awaitguard.findings import CodeFilter, Finding, Notice, Result, dedupe
from awaitguard.index import Index
from awaitguard.known import KNOWN_COROUTINE_NAMES
from awaitguard.layout import default_roots
from awaitguard.libraries import Library, LibraryError, async_names_in, environment, find_python
from awaitguard.model import ModuleFacts, Scope
from awaitguard.prefilter import (
    async_generator_methods,
    async_names,
    async_pairs,
    imports_any,
    is_async,
    iterates_any,
    mentions_mock,
    mentions_patch,
    names_by_module,
    names_by_package,
    patch_could_matter,
)
from awaitguard.tree import FsTree, Tree, excluded

if TYPE_CHECKING:
    from awaitguard.cache import FactsCache


def make_index(config: Config, tree: Tree, cache: bool, workers: int) -> Index:
    """The index of ``tree``, with the project's libraries. Raises ``LibraryError`` for a bad `python`."""
    facts_cache = library_cache = stub_cache = None
    if config.cache:  # sqlite3, pickle and hashlib are imported only for a cache
        from awaitguard.cache import FactsCache, code_stamp, default_cache_dir

        # the shipped stubs' and typeshed's facts, keyed by their bytes, also for `--no-cache` (a cold
        # scan of the project): they change only with awaitguard or typeshed, and parsing them again
        # was a fifth of a small library's scan
        stub_cache = FactsCache(default_cache_dir() / "stubs", code_stamp())
        if cache:
            facts_cache = FactsCache(default_cache_dir())
            # library facts live apart (``lib/``): clearing the project's cache keeps them, and the reverse
            library_cache = FactsCache(default_cache_dir() / "lib")
    roots = config.src or default_roots(tree.files(), tree.read)
    library = make_library(config, library_cache, stub_cache) if config.libraries else None
    index = Index(tree, roots=roots, cache=facts_cache, workers=workers, library=library, stub_cache=stub_cache)
    if config.policy is not None:
        from awaitguard.policy import scan as policy_scan

        index.declared = policy_scan.declared(config.policy)
    return index


def release(index: Index) -> None:
    """Close the caches ``index`` opened (they open again if it is used once more)."""
    if index.cache is not None:
        index.cache.close()
    if index.library is not None and index.library.cache is not None:
        index.library.cache.close()
    if index.stub_cache is not None:
        index.stub_cache.close()


_LIBRARIES: dict[tuple[str, str | None, tuple[str, ...], tuple[str, ...]], Library] = {}


def make_library(config: Config, cache: FactsCache | None, stub_cache: FactsCache | None = None) -> Library:
    """One library per process and settings (a change and its base share what they load)."""
    python = find_python(config.root, config.python)
    folders = tuple(str(c.directory) if c is not None else "" for c in (cache, stub_cache))
    key = (str(config.root), python, config.stub_paths, folders)
    found = _LIBRARIES.get(key)
    if found is None:
        for folder in config.stub_paths:
            if not (config.root / folder).is_dir():
                where = f"{config.source}: " if config.source is not None else ""
                raise LibraryError(f"{where}[tool.awaitguard] `stub-paths`: {folder}: no such folder")
        stub_dirs = [(str(config.root / folder), folder.strip("/")) for folder in config.stub_paths]
        try:
            env = environment(config.root, python)
        except LibraryError as exc:
            if config.python:  # the user's own setting: say so, and where it is
                raise LibraryError(f"{config.source}: {exc}" if config.source is not None else str(exc)) from None
            env = environment(config.root, None)  # a broken `.venv` found by looking: use our own packages
        found = _LIBRARIES[key] = Library(env, stub_dirs, cache, stub_cache)
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


NAMED_ALWAYS_PARSED = 100
READ_BATCH = 256  # files read (and sorted into primary or not) between hand-offs to the parsing workers


def finish(
    findings: Iterable[Finding], config: Config, select_codes: Sequence[str], ignore_codes: Sequence[str]
) -> list[Finding]:
    return dedupe(CodeFilter.of(config, select_codes, ignore_codes).apply(findings))


# -- whole tree -----------------------------------------------------------------------------------
def _judgement() -> None:
    """The modules that judge (the resolver, the rules, the parallel judgement: a few ms of a scan's start),
    imported by this process while a process forked to parse half the files still parses (``parsing.split``),
    or when first needed: nothing before the parse needs them."""
    import awaitguard.parallel  # noqa: F401  (with awaitguard.judge, awaitguard.rules, awaitguard.resolve)


def scan_tree(
    index: Index, paths: Sequence[str] | None = None, exclude: Sequence[str] = (), policy: Policy | None = None
) -> Result:
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
                elif mentions_patch(blob) or mentions_mock(path, blob):
                    patching.append(path)
            primary.extend(found)
            yield found

    loaded = index.load_batches(read(), data, split=True, meanwhile=_judgement)
    from awaitguard.parallel import Judge

    judge = Judge(index, loaded)  # judging what needs no names starts now, in a forked process
    try:
        pairs = async_pairs(loaded)
        modules = names_by_module(pairs)
        packages = names_by_package(modules)
        primary_set = set(primary)
        generators = async_generator_methods(loaded, (data[p] for p in files if p not in primary_set and p in data))
        secondary = [
            path
            for path in files
            if path not in primary_set
            and path in data
            and (imports_any(index, path, data[path], pairs, modules, packages) or iterates_any(data[path], generators))
        ]
        with judge.lend() as lent:
            loaded += index.load(secondary, data, lent=lent, split=True)
        every_name = (
            async_names(loaded) | async_names(index.stub_facts()) | KNOWN_COROUTINE_NAMES | library_names(index, loaded)
        )
        secondary_set = set(secondary)
        tertiary = [
            p
            for p in patching
            if p not in secondary_set and patch_could_matter(data[p], every_name, mentions_mock(p, data[p]))
        ]
        if tertiary:
            with judge.lend() as lent:
                more = index.load(tertiary, data, lent=lent, split=True)
            loaded += more
            every_name |= async_names(more) | library_names(index, more)
        every_name |= {name for name, is_async, *_ in index.declared if is_async}  # [tool.awaitguard.policy] async
        if paths is not None:  # some files of the project: the others' async names count too (from their bytes)
            every_name |= _other_files_names(tree, files, data, exclude)
        findings = judge.finish(loaded, every_name)
    finally:
        judge.close()
    if policy is not None:  # the project's own policies (awaitguard.policy)
        from awaitguard.policy import scan as policy_scan
        from awaitguard.resolve import Resolver

        resolver = Resolver(index)
        findings = policy_scan.with_twins(policy, resolver, findings)
        findings += policy_scan.tree_findings(policy, resolver, files, data)
    notices = settle(index, set(files), "only read to resolve names")
    return Result(findings, notices, len(files), index.parsed)


def _other_files_names(tree: Tree, files: Sequence[str], data: Mapping[str, bytes], exclude: Sequence[str]) -> set[str]:
    """The async names of the project's files a scan of ``files`` did not read (`--all` with paths, pre-commit's
    `--files`): a dropped `self.bm.close_room(...)` is judged only when some async def is named `close_room`."""
    asked = set(files)
    rest = [p for p in tree.files() if p.endswith((".py", ".pyi")) and p not in asked and not excluded(p, exclude)]
    names: set[str] = set()
    for blob in [*(data[p] for p in rest if p in data), *tree.read([p for p in rest if p not in data]).values()]:
        names |= async_names_in(blob)
    return names


def scan_change(
    scope: Scope, new_index: Index, old_index: Index | None, exclude: Sequence[str] = (), policy: Policy | None = None
) -> Result:
    """Findings on the changed lines, plus everything the changed definitions break elsewhere."""
    from awaitguard.impact import compare, flipped_findings, removed_findings, rewritten
    from awaitguard.judge import run_rules
    from awaitguard.resolve import Resolver

    resolver = Resolver(new_index)
    result = Result(note=scope.note)
    changes = [c for c in scope.changes if c.path.endswith((".py", ".pyi")) and not excluded(c.path, exclude)]
    findings: list[Finding] = []
    changed_paths = [c.path for c in changes if c.status != "D"]
    for facts in new_index.load(changed_paths):
        lines = _with_bodies(facts, next((c.lines for c in changes if c.path == facts.path), frozenset()))
        status = next((c.status for c in changes if c.path == facts.path), "M")
        for finding in run_rules(resolver, facts):
            if status == "A" or finding.line in lines:
                findings.append(finding)
    if policy is not None:
        from awaitguard.policy import scan as policy_scan

        findings = policy_scan.with_twins(policy, resolver, findings)
        findings += policy_scan.change_findings(policy, resolver, changes, old_index, exclude)
    if old_index is not None:
        flips, removed = compare(old_index, new_index, changes, resolver)
        findings.extend(flipped_findings(resolver, new_index, flips))
        findings.extend(removed_findings(resolver, new_index, removed))
    result.findings = findings
    touched = rewritten([n.path for n in new_index.notices], changes, new_index, old_index)
    result.notices = settle(new_index, touched, "not changed by this commit")
    result.files_total = len(changes)
    result.files_parsed = new_index.parsed
    return result


def _with_bodies(facts: ModuleFacts, lines: Collection[int]) -> Collection[int]:
    """The changed lines, plus the sites in the body of a function whose `def` line changed: `async def`
    made `def` changes what every `await` left in it means (AG106), though those lines did not change."""
    headers = tuple(d.qualname for d in facts.defs if d.kind == "function" and d.line in lines)
    if not headers:
        return lines
    nested = tuple(f"{q}." for q in headers)
    return {*lines, *(s.line for s in facts.sites if s.scope in headers or s.scope.startswith(nested))}


def settle(index: Index, in_scope: Collection[str], why: str) -> list[Notice]:
    """The index's notices as the run reports them: a file in scope that cannot be scanned is an
    error; one only read on the way (a caller found for impact analysis, a module an import needs)
    is one note, as is the Python version that would parse the code, when one would."""
    errors: list[Notice] = []
    skipped: list[Notice] = []
    seen: set[tuple[str, int, str]] = set()
    # sorted: parallel parse workers report failures in the order they finish
    for notice in sorted(index.notices, key=lambda n: (n.path, n.line, n.message)):
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
    failures = [n.message for n in index.notices if not n.is_note]
    if not failures:  # the advice reads parse failures only (``newer`` is imported for them alone)
        return out
    from awaitguard import newer

    line = newer.advice(failures, root, "awaitguard-scan")
    if line is not None:
        out.append(Notice.note(line))
    return out


def only_async(index: Index, name: str) -> bool:
    """Whether the project defines ``name``, and only as an `async def` (no generator, no assignment of the
    name): an `await` of it that failed in production was fixed at the callee (``incidents.recheck``)."""
    from awaitguard.resolve import Resolver

    return Resolver(index).async_everywhere(name, defined=True)
