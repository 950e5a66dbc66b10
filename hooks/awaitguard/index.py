"""Cross-module tables: module <-> path, lazily loaded per-file facts, a content-hash cache."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import pickle
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from pathlib import Path
from typing import NamedTuple, TypeVar, cast

from awaitguard import __version__
from awaitguard.facts import collect
from awaitguard.findings import Notice
from awaitguard.libraries import Library
from awaitguard.model import FACTS_FORMAT, ModuleFacts
from awaitguard.refs import module_name
from awaitguard.source import SourceError
from awaitguard.tree import FsTree, Tree

_CACHE_TAG = f"{__version__}-py{sys.version_info.major}{sys.version_info.minor}-f{FACTS_FORMAT}"


def stubs_dir() -> Path | None:
    """The shipped ``.pyi`` stubs: ``awaitguard/stubs`` (a link to the repository's ``stubs/``)."""
    here = Path(__file__).parent
    for candidate in (here / "stubs", here.parent.parent / "stubs"):
        if candidate.is_dir():
            return candidate
    return None


STUBS_DIR = stubs_dir()


def default_cache_dir() -> Path:
    base = os.environ.get("AWAITGUARD_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root if os.environ.get("AWAITGUARD_CACHE_DIR") else root / "awaitguard"


_INHERITED: list[sqlite3.Connection] = []  # connections a forked process inherited: never used, never closed


class FactsCache:
    """Facts pickled per (content hash, module name, version), in one SQLite file per cache folder.

    One file, not one per module: creating thousands of small files cost more than pickling their
    contents (about 0.5 ms each here). SQLite (as pre-commit's store and mypy's ``--sqlite-cache``)
    writes a whole batch in one transaction, and is safe under parallel runs. Never required: an
    error (a lock held past the timeout, a corrupt or read-only file) is a miss, never a failure.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory / _CACHE_TAG
        self.path = self.directory / "facts.sqlite"
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._broken = False
        self._batch: list[tuple[str, bytes]] | None = None

    @staticmethod
    def key(module: str, is_package: bool, path: str, data: bytes) -> str:
        digest = hashlib.blake2b(data, digest_size=20)
        digest.update(f"\0{module}\0{is_package}\0{path}".encode())
        return digest.hexdigest()

    def get(self, key: str) -> ModuleFacts | None:
        value = self._read(key)
        return value if isinstance(value, ModuleFacts) else None

    def put(self, key: str, facts: ModuleFacts) -> None:
        self.put_pickled(key, pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))

    def put_pickled(self, key: str, blob: bytes) -> None:
        """``put`` of facts already pickled (by the worker process that made them)."""
        if self._batch is not None:
            self._batch.append((key, blob))
        else:
            self._write([(key, blob)])

    def get_names(self, key: str) -> frozenset[str] | None:
        value = self._read(key)
        return value if isinstance(value, frozenset) else None

    def put_names(self, key: str, names: frozenset[str]) -> None:
        self.put_pickled(key, pickle.dumps(names, protocol=pickle.HIGHEST_PROTOCOL))

    def close(self) -> None:
        """Close this process's connection (it opens again when needed).

        A scan closes its caches when it ends: SQLite maps a shared-memory file of the
        write-ahead log, which must not be left mapped by a finished scan in a longer-lived process.
        """
        if self._conn is not None and self._pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Puts inside are written together, in one transaction, at the end."""
        if self._batch is not None:
            yield
            return
        self._batch = []
        try:
            yield
        finally:
            rows, self._batch = self._batch, None
            if rows:
                self._write(rows)

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        if self._conn is not None:
            _INHERITED.append(self._conn)  # a connection must not cross a fork: this process opens its own
            self._conn = None
        if self._broken:
            return None
        conn: sqlite3.Connection | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        except (sqlite3.Error, OSError):
            self._broken = True  # not a database, read-only, locked: run without the cache
            if conn is not None:
                conn.close()  # opened, then refused (a file that is no database): not left to the collector
            return None
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _read(self, key: str) -> object:
        conn = self._connect()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT value FROM facts WHERE key = ?", (key,)).fetchone()
            return pickle.loads(row[0]) if row is not None else None
        except Exception:
            return None

    def _write(self, rows: list[tuple[str, bytes]]) -> None:
        conn = self._connect()
        if conn is None:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO facts (key, value) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            return  # a full disk or a lock held too long never fails a scan


class Pickled(NamedTuple):
    """Facts made in a worker process, with the pickle they came in (written to the cache as is)."""

    facts: ModuleFacts
    blob: bytes


Job = tuple[str, str, bool, bytes]
Result = tuple[str, "ModuleFacts | Pickled | tuple[int, str]"]


def _collect_job(job: Job) -> Result:
    path, module, is_package, data = job
    enabled = gc.isenabled()
    gc.disable()  # parsing allocates many objects and frees none: collection passes are pure cost
    try:
        return path, collect(path, module, is_package, data)
    except SourceError as exc:
        return path, (exc.line, exc.message)
    finally:
        if enabled:
            gc.enable()


def _collect_chunk(jobs: list[Job]) -> list[Result]:
    return [_collect_job(job) for job in jobs]


def _collect_chunk_to(jobs: list[Job], path: str, cached: bool) -> str:
    """``_collect_chunk`` in a worker, its results pickled to ``path``: a file write never waits for
    the parent (a pipe fills up while the parent is busy parsing and cannot read it). For a cache
    (``cached``), each module's facts are pickled on their own, so the parent can store them without
    pickling them again; without one, the chunk is one pickle (names and refs shared across modules)."""
    results: list[tuple[str, object]] = list(_collect_chunk(jobs))
    if cached:
        results = [
            (name, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) if isinstance(value, ModuleFacts) else value)
            for name, value in results
        ]
    with open(path, "wb") as handle:
        pickle.dump(results, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read_results(path: str) -> list[Result]:
    with open(path, "rb") as handle:
        results: list[tuple[str, object]] = pickle.load(handle)
    out: list[Result] = []
    for name, value in results:
        if isinstance(value, bytes):  # pickled on its own, for the cache
            out.append((name, Pickled(pickle.loads(value), value)))
        else:
            out.append((name, cast("ModuleFacts | tuple[int, str]", value)))
    return out


def _chunks(jobs: list[Job], size: int) -> Iterator[list[Job]]:
    """Consecutive runs of ``jobs`` of about ``size`` bytes of source each (at least one job)."""
    chunk: list[Job] = []
    total = 0
    for job in jobs:
        chunk.append(job)
        total += len(job[3])
        if total >= size:
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk


JOB_BYTES = 25_000  # source bytes that count as one file's work when choosing how many processes
EARLY_BYTES = 250_000  # source bytes per chunk handed to the workers while the files are still read


def jobs_for(workers: int, count: int) -> int:
    if workers > 0:
        return workers
    return max(1, min(os.cpu_count() or 1, count // 40 or 1))


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
    ) -> None:
        self.tree = tree
        self.library = library  # modules outside the project (typeshed, installed packages, stub-paths)
        self.cache = cache
        self.workers = workers
        self.roots = tuple(roots) or ("",)
        self.notices: list[Notice] = []
        self.parsed = 0
        self._facts: dict[str, ModuleFacts] = {}
        self._failed: set[str] = set()
        self.modules: dict[str, tuple[str, bool]] = {}  # module -> (path, is_package)
        self.path_modules: dict[str, tuple[str, bool]] = {}
        self.namespaces: set[str] = set()  # every package prefix, with or without __init__.py
        for path in tree.files():
            self._register(path)
        self.stub_tree: FsTree | None = None
        self.stub_modules: dict[str, tuple[str, bool]] = {}
        if stubs is not None and stubs.is_dir():
            self.stub_tree = FsTree(stubs)
            for path in self.stub_tree.files():
                name, pkg = module_name(path, ("",))
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
                result = _collect_job((f"<stubs>/{path}", module, pkg, data))[1]
                if isinstance(result, ModuleFacts):
                    self._facts[module] = result
        elif self.library is not None and module not in self.namespaces:
            found = self.library.load(module)
            if found is not None:
                self._facts[module] = found
        if module not in self._facts:
            self._failed.add(module)
            return None
        return self._facts[module]

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

    def add(self, facts: ModuleFacts) -> None:
        self._facts[facts.module] = facts

    def load(
        self, paths: Sequence[str], contents: dict[str, bytes] | None = None, lent: Lent | None = None
    ) -> list[ModuleFacts]:
        """Facts for ``paths`` (cache, then parse; in parallel when there are many: with ``lent``,
        the running processes of another task, so none is forked beside them)."""
        data = contents if contents is not None else self.tree.read(paths)
        return self.load_batches([paths], data, lent)

    def load_batches(
        self,
        batches: Iterable[Sequence[str]],
        data: Mapping[str, bytes],
        lent: Lent | None = None,
    ) -> list[ModuleFacts]:
        """``load`` of paths that come in batches, each with its bytes in ``data`` once it comes
        (a full scan reads and sorts the files as it goes): the worker processes start on the first
        batches while this process still reads the rest."""
        out: list[ModuleFacts] = []
        keys: dict[str, str] = {}

        def jobs() -> Iterator[list[Job]]:
            for paths in batches:
                batch: list[Job] = []
                for path in paths:
                    blob = data.get(path)
                    if blob is None:
                        continue
                    module, pkg = self.module_of(path)
                    if self.cache is not None:
                        key = FactsCache.key(module, pkg, path, blob)
                        hit = self.cache.get(key)
                        if hit is not None:
                            out.append(self._keep(hit))
                            continue
                        keys[path] = key
                    batch.append((path, module, pkg, blob))
                yield batch

        with self.cache.batch() if self.cache is not None else contextlib.nullcontext():
            for path, result in self._run(jobs(), lent):
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

    def _run(self, batches: Iterator[list[Job]], lent: Lent | None = None) -> Iterator[Result]:
        """Results of every job of ``batches``: in this process for a little work, else shared with
        worker processes (``lent``: ones already running), which start on the batches so far as soon
        as there are more to come and work for every process."""
        # a pool pays off from about 40 files' work: counted in files, or in 25 KB of source each
        # (68 big test files, 2.4 MB, took 0.8 s in one process), and from a few files (one big file
        # is one job whatever the pool)
        most = lent.helpers + 1 if lent is not None else jobs_for(self.workers, sys.maxsize)
        cached = self.cache is not None
        jobs: list[Job] = []
        size = 0
        with _Pool(most - 1, cached, lent.executor if lent is not None else None) as pool:
            coming = next(batches, None)
            while coming is not None:
                batch, coming = coming, next(batches, None)  # the next batch is read first
                jobs += batch
                size += sum(len(job[3]) for job in batch)
                if coming is None:
                    break  # the last batch: shared out below with the rest
                if pool.started:
                    ready = size >= EARLY_BYTES
                else:  # enough work for every process: the workers start on it while the rest is read
                    work = max(len(jobs), size // JOB_BYTES)
                    ready = most > 1 and len(jobs) >= 8 and jobs_for(self.workers, work) == most
                if ready:
                    pool.submit(jobs)
                    jobs, size = [], 0
            if pool.started:
                # the chunks of the rest are sized by the whole
                size += sum(len(job[3]) for chunk, _ in pool.early for job in chunk)
                taken, pool.early = take_back(pool.early)  # what no worker has begun is shared out again
                jobs += [job for chunk in taken for job in chunk]
            work = max(len(jobs), size // JOB_BYTES)
            workers = most if pool.started or lent is not None else min(most, jobs_for(self.workers, work))
            if workers <= 1 or (not pool.started and (work < 40 or len(jobs) < 8)):
                yield from map(_collect_job, jobs)
                return
            # biggest files first, so no process is left with a giant file at the end
            jobs.sort(key=lambda job: len(job[3]), reverse=True)
            chunks = list(_chunks(jobs, size // (workers * 64) + 1))
            yield from (result for chunk in pool.share(chunks, workers - 1) for result in chunk)
            yield from (result for _, future in pool.early for result in _read_results(future.result()))


class Lent(NamedTuple):
    """Worker processes another task started (forked judges), lent for parsing meanwhile."""

    executor: ProcessPoolExecutor
    helpers: int


class _Pool:
    """Worker processes collecting chunks of jobs into result files (``_collect_chunk_to``), started
    by the first ``submit``; ``share`` then splits the rest between them and this process."""

    def __init__(self, helpers: int, cached: bool, executor: ProcessPoolExecutor | None = None) -> None:
        self.helpers = helpers
        self.cached = cached
        self.early: list[tuple[list[Job], Future[str]]] = []  # chunks submitted before ``share``
        self._stack = contextlib.ExitStack()
        self._lent = executor  # running processes of another task: used, never shut down here
        self._pool: ProcessPoolExecutor | None = None
        self._folder = ""
        self._count = 0

    @property
    def started(self) -> bool:
        return self._pool is not None

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _remote(self, chunk: list[Job]) -> Future[str]:
        if self._pool is None:
            self._folder = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="awaitguard-"))
            self._pool = self._lent or self._stack.enter_context(ProcessPoolExecutor(max_workers=self.helpers))
        self._count += 1
        return self._pool.submit(_collect_chunk_to, chunk, os.path.join(self._folder, str(self._count)), self.cached)

    def submit(self, chunk: list[Job]) -> None:
        """Queue ``chunk`` for the workers now (biggest files first within it)."""
        chunk.sort(key=lambda job: len(job[3]), reverse=True)
        self.early.append((chunk, self._remote(chunk)))

    def share(self, chunks: list[list[Job]], helpers: int) -> list[list[Result]]:
        """Every chunk collected, in order: worker processes take the biggest files, this process the
        smallest (``share``). This process works too rather than only unpickling results: its own
        facts are pickled only for a cache, and then at once, while the workers still parse: pickled
        after the last chunk, they cost the whole scan a serial second."""
        done: list[list[Result]] = [[] for _ in chunks]
        cached = self.cached

        def local(at: int) -> None:
            results = _collect_chunk(chunks[at])
            if cached:
                results = [
                    (name, Pickled(result, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)))
                    if isinstance(result, ModuleFacts)
                    else (name, result)
                    for name, result in results
                ]
            done[at] = results

        def remote(at: int) -> Future[str]:
            return self._remote(chunks[at])

        def finish(at: int, path: str) -> None:  # read as they come, while this process still works
            done[at] = _read_results(path)

        share(len(chunks), helpers, local, remote, finish)
        return done


_T = TypeVar("_T")
_Item = TypeVar("_Item")


def take_back(queued: list[tuple[_Item, Future[_T]]]) -> tuple[list[_Item], list[tuple[_Item, Future[_T]]]]:
    """The items of ``queued`` no worker has begun, taken back (their futures cancelled), and the
    rest, begun or done (a worker cannot give back what it has started)."""
    taken = [item for item, future in queued if future.cancel()]
    return taken, [(item, future) for item, future in queued if not future.cancelled()]


def share(
    count: int,
    helpers: int,
    local: Callable[[int], None],
    remote: Callable[[int], Future[_T]],
    finish: Callable[[int, _T], None],
) -> None:
    """Items ``0 .. count-1`` done once each: ``remote(i)`` (worker processes) from the front,
    ``local(i)`` (this process) from the back, until they meet.

    A feeder thread keeps two items per worker submitted (one near the end) and hands each result
    to ``finish``, so a worker never waits for this process to finish an item of its own before it
    gets more (the thread sleeps while it waits). A worker's error is raised here.
    """
    lock = threading.Lock()
    ends = [0, count]  # the next item from the front, one past the last from the back

    def take(front: bool) -> int | None:
        with lock:
            if ends[0] >= ends[1]:
                return None
            if front:
                ends[0] += 1
                return ends[0] - 1
            ends[1] -= 1
            return ends[1]

    pending: dict[Future[_T], int] = {}

    def top_up() -> None:
        while True:
            with lock:
                left = ends[1] - ends[0]
            # near the end, one item per worker: a second one queued behind it may be one this
            # process runs out of work waiting for (a worker cannot give back what it has queued)
            if len(pending) >= (2 * helpers if left > 4 * helpers else helpers):
                return
            at = take(front=True)
            if at is None:
                return
            pending[remote(at)] = at

    def feed() -> None:
        while True:
            top_up()
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(pending.pop(future), future.result())

    top_up()  # in this thread: the first submit forks the workers, before any other thread runs
    with ThreadPoolExecutor(max_workers=1) as feeder:
        fed = feeder.submit(feed)
        while (at := take(front=False)) is not None:
            local(at)
        fed.result()
