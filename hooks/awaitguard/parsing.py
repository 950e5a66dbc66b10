"""Parse jobs: source bytes into ``ModuleFacts``, in this process or shared with worker processes.

A job is one file (path, module, is-package, bytes); ``collect_jobs`` turns batches of jobs into
results. For a full scan's loads (its files, then the sync files it reads), where this process may fork
(``can_split``), every file is read first, then the work is ``split``: one process per core from
about 40 files' work (counting 25 KB of source as one file), two from ``SPLIT_BYTES`` of source,
each forked process given a part of about the same bytes and sending its facts back through a
pipe. Otherwise (a commit's scan, whose process holds a tree's facts that a fork would copy page
by page as they are touched; another task's running processes lent to this one, ``workshare.Lent``;
no ``fork``; a thread running) worker processes of a pool start on the batches read so far as
soon as there is enough for all of them (``EARLY_BYTES`` per chunk), the chunks no worker has
begun when reading ends are taken back, and everything left is sorted biggest first and cut into
about 64 chunks per process, shared out by ``workshare.share`` (workers take the biggest, this
process the smallest); a worker writes its results to a temporary file, so it never waits for
this process to read. With a cache, each module's facts are pickled on their own in the process
that made them, and the pickle is stored as is (``Pickled``). Garbage collection is off while
parsing: parsing allocates many objects and frees none.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple, NoReturn, cast

from awaitguard.facts import collect
from awaitguard.model import ModuleFacts
from awaitguard.source import SourceError
from awaitguard.workshare import Lent, jobs_for, share, take_back

if TYPE_CHECKING:  # imported when a pool starts: a small scan parses in this process
    from concurrent.futures import Future, ProcessPoolExecutor


class Pickled(NamedTuple):
    """Facts made in a worker process, with the pickle they came in (written to the cache as is)."""

    facts: ModuleFacts
    blob: bytes


Job = tuple[str, str, bool, bytes]
Result = tuple[str, "ModuleFacts | Pickled | tuple[int, str]"]


def collect_job(job: Job) -> Result:
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
    return [collect_job(job) for job in jobs]


def _collected_to_send(jobs: list[Job], cached: bool) -> list[tuple[str, object]]:
    """``_collect_chunk`` in another process than the one that reads the results (``_unpickled``). For
    a cache (``cached``), each module's facts are pickled on their own, so the reader can store them
    without pickling them again; without one, they go as they are, to be pickled as one (names and
    refs shared across modules)."""
    import pickle

    results: list[tuple[str, object]] = list(_collect_chunk(jobs))
    if cached:
        results = [
            (name, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) if isinstance(value, ModuleFacts) else value)
            for name, value in results
        ]
    return results


def _collect_chunk_to(jobs: list[Job], path: str, cached: bool) -> str:
    """``_collected_to_send`` in a pool's worker, pickled to ``path``: a file write never waits for the
    parent (a pipe fills up while the parent is busy parsing and cannot read it)."""
    import pickle

    with open(path, "wb") as handle:
        pickle.dump(_collected_to_send(jobs, cached), handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read_results(path: str) -> list[Result]:
    import pickle

    with open(path, "rb") as handle:
        results: list[tuple[str, object]] = pickle.load(handle)
    return _unpickled(results)


def _unpickled(results: list[tuple[str, object]]) -> list[Result]:
    import pickle

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
            import tempfile
            from concurrent.futures import ProcessPoolExecutor

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
        import pickle

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


SPLIT_BYTES = 150_000  # source bytes from which work too small for one process per core is still split in two


def can_split() -> bool:
    """Whether this process may fork the processes of ``split``: ``fork`` exists and no other thread runs
    (a thread holding a lock at the fork, the import lock or a logging handler's, would hold it forever in
    the forked process)."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1


def _bins(jobs: list[Job], count: int) -> list[list[Job]]:
    """``jobs`` in ``count`` parts of about the same bytes: biggest first, each to the lightest part."""
    parts: list[list[Job]] = [[] for _ in range(count)]
    loads = [0] * count
    for job in sorted(jobs, key=lambda job: len(job[3]), reverse=True):
        lightest = loads.index(min(loads))
        parts[lightest].append(job)
        loads[lightest] += len(job[3])
    return parts


def _forked_part(part: list[Job], write_end: int, cached: bool) -> NoReturn:
    """In a process ``split`` forked: collect ``part``, pickle the results to ``write_end``, and leave
    without running any cleanup (the exit status says whether all was written)."""
    import pickle

    code = 1
    try:
        payload = pickle.dumps(_collected_to_send(part, cached), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as handle:
            handle.write(payload)
        code = 0
    finally:
        os._exit(code)


def split(jobs: list[Job], cached: bool, count: int, meanwhile: Callable[[], None] | None = None) -> list[Result]:
    """Every job collected in ``count`` processes: ``count - 1`` forked for it, each given a part of
    ``jobs`` of about the same bytes, and this one. A forked process inherits its jobs, so only its
    results travel (a pipe, read once this process has done its own part): no pool to start, no
    feeder thread, no hand-offs, which cost a small library more than they saved and a large one a
    fifth of its parse (the thread waits for the lock this process holds while it parses). Only where
    ``can_split``; a part whose process cannot be forked, or fails, is collected here. Results come
    in the order of ``jobs``. ``meanwhile`` runs here once this process's part is done, while the forked
    processes may still parse (each has more to do: it pickles its results)."""
    import pickle

    parts = _bins(jobs, count)
    mine = parts.pop()
    forked: list[tuple[int, int, list[Job]]] = []  # pid, read end, part
    for part in parts:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            mine += part
            continue
        if pid == 0:
            os.close(read_end)
            _forked_part(part, write_end, cached)
        os.close(write_end)  # before the next fork, or that process would keep this pipe open
        forked.append((pid, read_end, part))
    found = dict(_collect_chunk(mine))
    if meanwhile is not None and forked:
        meanwhile()
    for pid, read_end, part in forked:
        with os.fdopen(read_end, "rb") as handle:
            payload = handle.read()
        _, status = os.waitpid(pid, 0)
        try:
            results = _unpickled(pickle.loads(payload)) if status == 0 else _collect_chunk(part)
        except Exception:  # a truncated pickle: the process died while writing
            results = _collect_chunk(part)
        found.update(results)
    return [(job[0], found[job[0]]) for job in jobs]


def collect_jobs(
    batches: Iterator[list[Job]],
    workers: int,
    cached: bool,
    lent: Lent | None = None,
    split_ok: bool = False,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[Result]:
    """Results of every job of ``batches``: in this process for a little work, else, for a full scan's
    loads (``split_ok``), ``split`` between processes forked for it, or, where this process may not
    fork, for a commit's scan, or when ``lent`` processes already run, shared with the worker processes of a
    pool, which start on the batches so far as soon as there are more to come and work for every
    process."""
    # a pool pays off from about 40 files' work: counted in files, or in 25 KB of source each
    # (68 big test files, 2.4 MB, took 0.8 s in one process), and from a few files (one big file
    # is one job whatever the pool)
    jobs: list[Job] = []
    size = 0
    # ``split_ok``: a full scan's loads (the process holds only what it parses): a commit's scan holds the
    # facts of a whole tree, whose pages a fork copies as they are touched (a fifth of the scan's time)
    if split_ok and lent is None and can_split():  # the parts are shared out once every file is read
        jobs = [job for batch in batches for job in batch]
        size = sum(len(job[3]) for job in jobs)
        count = jobs_for(workers, max(len(jobs), size // JOB_BYTES))
        if count == 1 and workers != 1 and (os.cpu_count() or 1) > 1 and size >= SPLIT_BYTES:
            count = 2  # too little for a process per core, enough to halve
        if count > 1 and len(jobs) >= 8:
            yield from split(jobs, cached, count, meanwhile)
        else:
            yield from map(collect_job, jobs)
        return
    most = lent.helpers + 1 if lent is not None else jobs_for(workers, sys.maxsize)
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
                ready = most > 1 and len(jobs) >= 8 and jobs_for(workers, work) == most
            if ready:
                pool.submit(jobs)
                jobs, size = [], 0
        if pool.started:
            # the chunks of the rest are sized by the whole
            size += sum(len(job[3]) for chunk, _ in pool.early for job in chunk)
            taken, pool.early = take_back(pool.early)  # what no worker has begun is shared out again
            jobs += [job for chunk in taken for job in chunk]
        work = max(len(jobs), size // JOB_BYTES)
        count = most if pool.started or lent is not None else min(most, jobs_for(workers, work))
        if count <= 1 or (not pool.started and (work < 40 or len(jobs) < 8)):
            yield from map(collect_job, jobs)
            return
        # biggest files first, so no process is left with a giant file at the end
        jobs.sort(key=lambda job: len(job[3]), reverse=True)
        chunks = list(_chunks(jobs, size // (count * 64) + 1))
        yield from (result for chunk in pool.share(chunks, count - 1) for result in chunk)
        yield from (result for _, future in pool.early for result in _read_results(future.result()))
