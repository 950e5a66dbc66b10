"""Cross-module tables: module <-> path, and each module's facts, loaded on demand.

The facts come from the cache (``cache``), else from parsing (``parsing``, in worker processes when
there are many files); the shipped stubs and the project's libraries (``libraries``) answer for
the modules the project does not hold.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from awaitguard.findings import Notice
from awaitguard.libraries import Library
from awaitguard.model import ModuleFacts
from awaitguard.parsing import Job, Pickled, collect_job, collect_jobs
from awaitguard.refs import module_name
from awaitguard.tree import FsTree, Tree, holds_word
from awaitguard.workshare import Lent

if TYPE_CHECKING:
    from awaitguard.cache import FactsCache


def stubs_dir() -> Path | None:
    """The shipped ``.pyi`` stubs: ``awaitguard/stubs`` (a link to the repository's ``stubs/``)."""
    here = Path(__file__).parent
    for candidate in (here / "stubs", here.parent.parent / "stubs"):
        if candidate.is_dir():
            return candidate
    return None


STUBS_DIR = stubs_dir()
# a `*` import (led by the literal: a leading `\b` would be tried at every byte); also `reimport *`: then the
# module is parsed, as before
_STAR_IMPORT = re.compile(rb"import[\s\\]*\*")
# the folder of ``stubs/`` holding the stubs of libraries the scan falls back on when they are not installed
# (aiohttp, tornado...): a name no module can have, so mypy, given ``stubs/`` as a search path, never sees them
FALLBACK_STUBS = "scan-only"
# the facts of a file's bytes at a path and module, shared by the indexes of one scan (``Index.share_facts``)
SharedFacts = dict[tuple[str, str, bool, bytes], ModuleFacts]


class Index:
    """Everything the resolver may look up. Facts are loaded on demand, one file at a time."""

    def __init__(
        self,
        tree: Tree,
        roots: Sequence[str] = (),
        cache: FactsCache | None = None,
        stubs: Path | None = STUBS_DIR,
        workers: int = 0,
        library: Library | None = None,
        stub_cache: FactsCache | None = None,
    ) -> None:
        self.tree = tree
        self._shared: SharedFacts | None = None  # ``share_facts``
        self.library = library  # modules outside the project (typeshed, installed packages, stub-paths)
        self.cache = cache
        self.stub_cache = stub_cache  # the shipped stubs' facts, by content (also when ``cache`` is off)
        self.workers = workers
        # [tool.awaitguard.policy] sync/async (awaitguard.policy): (pattern of a callee's own name, is async,
        # the name as declared, the policy's file and line), for the calls the resolver cannot follow
        self.declared: tuple[tuple[str, bool, str, str, int], ...] = ()
        self.roots = tuple(roots) or ("",)
        self.notices: list[Notice] = []
        self.parsed = 0
        self._facts: dict[str, ModuleFacts] = {}
        self._failed: set[str] = set()
        self._sources: dict[str, bytes | None] = {}  # library modules' source, for ``lacks`` (None: never skipped)
        self.modules: dict[str, tuple[str, bool]] = {}  # module -> (path, is_package)
        self.path_modules: dict[str, tuple[str, bool]] = {}
        self.namespaces: set[str] = set()  # every package prefix, with or without __init__.py
        for path in tree.files():
            self._register(path)
        self.stub_tree: FsTree | None = None
        self.stub_modules: dict[str, tuple[str, bool]] = {}
        if stubs is not None and stubs.is_dir():
            self.stub_tree = FsTree(stubs)
            installed: dict[str, bool] = {}
            for path in self.stub_tree.files():
                name, pkg = module_name(path, ("", FALLBACK_STUBS))
                if path.startswith(f"{FALLBACK_STUBS}/"):
                    # a fallback stub yields to the package when the project's interpreter has it (or the
                    # user's stub-paths do): that version's own source is truer than what we declare
                    top = name.partition(".")[0]
                    if top not in installed:
                        installed[top] = library is not None and library.find(top) is not None
                    if installed[top]:
                        continue
                self.stub_modules[name] = (path, pkg)

    def _register(self, path: str) -> None:
        name, pkg = module_name(path, self.roots)
        self.path_modules[path] = (name, pkg)
        parts = name.split(".")
        for cut in range(1, len(parts)):
            self.namespaces.add(".".join(parts[:cut]))
        current = self.modules.get(name)
        if current is None or (current[0].endswith(".pyi") and path.endswith(".py")):
            self.modules[name] = (path, pkg)

    def module_of(self, path: str) -> tuple[str, bool]:
        if path not in self.path_modules:
            self._register(path)
        return self.path_modules[path]

    def has_module(self, name: str) -> bool:
        """A module of the project (or of the shipped stubs)."""
        return name in self.modules or name in self.namespaces or name in self.stub_modules

    def in_library(self, name: str) -> bool:
        """A module outside the project that can be read (typeshed, an installed package, a stub path)."""
        return self.library is not None and not self.has_module(name) and self.library.find(name) is not None

    def loaded(self) -> Iterable[ModuleFacts]:
        return self._facts.values()

    def facts(self, module: str) -> ModuleFacts | None:
        """The facts of ``module``: parsed now if needed; project first, then ``stubs/``."""
        if module in self._facts:
            return self._facts[module]
        if module in self._failed:
            return None
        entry = self.modules.get(module)
        if entry is not None:
            self.load([entry[0]])
        elif module in self.stub_modules and self.stub_tree is not None:
            path, pkg = self.stub_modules[module]
            data = self.stub_tree.read([path]).get(path)
            if data is not None:
                found = self._stub(f"<stubs>/{path}", module, pkg, data)
                if found is not None:
                    self._facts[module] = found
        elif self.library is not None and module not in self.namespaces:
            found = self.library.load(module)
            if found is not None:
                self._facts[module] = found
        if module not in self._facts:
            self._failed.add(module)
            return None
        return self._facts[module]

    def _stub(self, path: str, module: str, pkg: bool, data: bytes) -> ModuleFacts | None:
        """A shipped stub's facts: from ``stub_cache`` (keyed by the stub's bytes), else parsed."""
        key = self.stub_cache.key(module, pkg, path, data) if self.stub_cache is not None else ""
        found = self.stub_cache.get(key) if self.stub_cache is not None else None
        if found is None:
            result = collect_job((path, module, pkg, data))[1]
            if not isinstance(result, ModuleFacts):
                return None
            found = result
            if self.stub_cache is not None:
                self.stub_cache.put(key, found)
        return found

    def lacks(self, module: str, name: str) -> bool:
        """Whether ``module``, a library module not loaded yet, surely binds no ``name`` at module level: its
        source holds neither the word nor a `*` import, so its facts could hold no definition, import or
        assignment of it (read as bytes: parsing a typeshed module to learn this costs milliseconds)."""
        if self.library is None or module in self._facts or module in self._failed or not name.isascii():
            return False
        if module not in self._sources:
            located = None if self.has_module(module) else self.library.find(module)
            data: bytes | None = None
            try:
                data = Path(located.file).read_bytes() if located is not None else None
            except OSError:
                pass
            self._sources[module] = None if data is None or _STAR_IMPORT.search(data) else data
        data = self._sources[module]
        return data is not None and not holds_word(data, name.encode())

    def stub_facts(self) -> list[ModuleFacts]:
        """Facts of every shipped stub module (a handful of small files)."""
        found = (self.facts(module) for module in sorted(self.stub_modules))
        return [f for f in found if f is not None and f.path.startswith("<stubs>")]

    def facts_for_path(self, path: str) -> ModuleFacts | None:
        module, _ = self.module_of(path)
        found = self._facts.get(module)
        if found is not None and found.path == path:
            return found
        loaded = self.load([path])
        return loaded[0] if loaded else None

    def preload(self, paths: Sequence[str]) -> None:
        """Load together the modules of ``paths`` not loaded yet, ahead of their ``facts_for_path`` one at a time
        (a search asking for many: parsed in worker processes when there are enough)."""
        wanted = []
        for path in paths:
            module = self.module_of(path)[0]
            found = self._facts.get(module)
            if (found is None or found.path != path) and module not in self._failed:
                wanted.append(path)
        if len(wanted) > 1:
            self.load(wanted)

    def share_facts(self, other: Index) -> None:
        """Share with ``other`` (another index of the same scan) the facts of the files both hold with the same
        bytes: a diff-scoped scan's index and HEAD hold the same bytes for every file the commit does not change,
        parsed (or read from the cache) once."""
        if other._shared is None:
            other._shared = {}
        self._shared = other._shared

    def add(self, facts: ModuleFacts) -> None:
        self._facts[facts.module] = facts

    def load(
        self,
        paths: Sequence[str],
        contents: dict[str, bytes] | None = None,
        lent: Lent | None = None,
        split: bool = False,
    ) -> list[ModuleFacts]:
        """Facts for ``paths`` (cache, then parse; in parallel when there are many: with ``lent``,
        the running processes of another task, so none is forked beside them; ``split``: a full
        scan's, shared between processes forked for it, ``parsing.split``)."""
        data = contents if contents is not None else self.tree.read(paths)
        return self.load_batches([paths], data, lent, split)

    def load_batches(
        self,
        batches: Iterable[Sequence[str]],
        data: Mapping[str, bytes],
        lent: Lent | None = None,
        split: bool = False,
        meanwhile: Callable[[], None] | None = None,
    ) -> list[ModuleFacts]:
        """``load`` of paths that come in batches, each with its bytes in ``data`` once it comes
        (a full scan reads and sorts the files as it goes): the worker processes start on the first
        batches while this process still reads the rest. ``meanwhile``: what this process may do while
        processes forked to parse still parse (``parsing.split``)."""
        out: list[ModuleFacts] = []
        keys: dict[str, str] = {}
        shared = self._shared

        def jobs() -> Iterator[list[Job]]:
            for paths in batches:
                batch: list[Job] = []
                for path in paths:
                    blob = data.get(path)
                    if blob is None:
                        continue
                    module, pkg = self.module_of(path)
                    hit = shared.get((path, module, pkg, blob)) if shared is not None else None
                    if hit is not None:
                        out.append(self._keep(hit))
                        continue
                    if self.cache is not None:
                        key = self.cache.key(module, pkg, path, blob)
                        hit = self.cache.get(key)
                        if hit is not None:
                            if shared is not None:
                                shared[(path, module, pkg, blob)] = hit
                            out.append(self._keep(hit))
                            continue
                        keys[path] = key
                    batch.append((path, module, pkg, blob))
                yield batch

        with self.cache.batch() if self.cache is not None else contextlib.nullcontext():
            for path, result in collect_jobs(jobs(), self.workers, self.cache is not None, lent, split, meanwhile):
                pickled: bytes | None
                if isinstance(result, Pickled):
                    facts, pickled = result
                elif isinstance(result, ModuleFacts):
                    facts, pickled = result, None
                else:
                    line, message = result
                    self.notices.append(Notice(path, line, message))
                    self._failed.add(self.module_of(path)[0])
                    continue
                self.parsed += 1
                if shared is not None:
                    shared[(path, facts.module, facts.is_package, data[path])] = facts
                if self.cache is not None and path in keys:
                    if pickled is None:
                        self.cache.put(keys[path], facts)
                    else:
                        self.cache.put_pickled(keys[path], pickled)
                out.append(self._keep(facts))
        return out

    def _keep(self, facts: ModuleFacts) -> ModuleFacts:
        current = self._facts.get(facts.module)
        preferred = self.modules.get(facts.module, (facts.path, False))[0]
        if current is None or facts.path == preferred:
            self._facts[facts.module] = facts
        return facts
