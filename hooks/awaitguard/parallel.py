"""The parallel judgement of a full scan: forked worker processes run the rules beside this one.

A full scan's findings come from judging every site of every parsed file, and most of that work
needs no knowledge of the rest of the tree: awaits, `async with`/`async for` and patches are judged
whatever the project's async names (``judge.NOT_BY_NAME``). So as soon as the files with
`async`/`await` are parsed, ``Judge`` forks its workers (``fork`` only: they inherit the resolver
and the parsed facts in memory, nothing is pickled) and queues those sites in ``JUDGE_CHUNKS``
parts, while this process chooses, parses and names the remaining files. The state a worker judges
with is handed to it once, as the pool's initializer argument (``_Worker``); the async names,
known only later, follow in a temporary file each worker reads once. Parsing in the meantime
borrows the same processes (``lend``: the parts not yet begun are taken back and queued again
after), so no process is forked beside a running one. At the end the sites judged by name, and
what no worker has begun, are shared out (``workshare.share``): workers from the front, this
process from the back, which also judges the files parsed after the fork. With one core, a small
tree or no ``fork``, the judgement is one serial pass at the end, with the same result.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from awaitguard.findings import Finding
from awaitguard.index import Index
from awaitguard.judge import BY_NAME, NOT_BY_NAME, judged
from awaitguard.model import ModuleFacts
from awaitguard.resolve import Resolver
from awaitguard.workshare import Lent, jobs_for, share, take_back

if TYPE_CHECKING:  # imported when processes are forked: a serial judgement needs neither
    from concurrent.futures import Future

JUDGE_CHUNKS = 64  # parts of the files a parallel judgement is split into (shared out as they finish)

Part = tuple[int, int, bool]  # (start, stop, by name) of the files a process judges at once


def judged_part(resolver: Resolver, loaded: list[ModuleFacts], part: Part, names: set[str] | None) -> list[Finding]:
    """The sites of ``loaded[start:stop]`` judged by name (``names``), or the others
    (``NOT_BY_NAME``, which need no names)."""
    start, stop, by_name = part
    if by_name:
        return judged(resolver, loaded[start:stop], names, BY_NAME)
    return judged(resolver, loaded[start:stop], None, NOT_BY_NAME)


class _Worker:
    """What a forked worker judges with: the resolver and the files it inherited at the fork, and
    the async names once read from their file (keyed by the file's name; "" before they are known)."""

    def __init__(self, resolver: Resolver, loaded: list[ModuleFacts]) -> None:
        self.resolver = resolver
        self.loaded = loaded
        self.names: dict[str, set[str]] = {}

    def judge(self, part: Part, names_file: str) -> list[Finding]:
        names = self.names.get(names_file)
        if names is None and names_file:
            import pickle

            with open(names_file, "rb") as handle:
                names = self.names[names_file] = pickle.load(handle)
        return judged_part(self.resolver, self.loaded, part, names)


# set in each worker process by the pool's initializer (never in the process that forks them)
_WORKER: _Worker | None = None


def _install(worker: _Worker) -> None:
    """The pool's initializer: the state handed to this worker at the fork."""
    global _WORKER
    _WORKER = worker


def _judge_part(part: Part, names_file: str) -> list[Finding]:
    """``judged_part`` in a worker, with the state ``_install`` gave it."""
    assert _WORKER is not None, "a judging worker runs only in a pool started by Judge"
    return _WORKER.judge(part, names_file)


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


class Judge:
    """Running the rules over a full scan's files, begun before the async names are known.

    With a forked process (a large tree, several cores), the fork comes as soon as the files with
    `async`/`await` are parsed: it judges their sites that need no names (awaits, `async with`,
    patches) while this process chooses, parses and names the rest (the forked process parses
    too, ``lend``: no process is forked beside a running one). Then the sites judged by name, and
    what the forked process has not begun, are shared out in chunks (``workshare.share``); this
    process judges the files it parsed since the fork. Without, one serial judgement at the end.
    """

    def __init__(self, index: Index, first: list[ModuleFacts]) -> None:
        self.index = index
        self.first = list(first)  # the caller's list grows; the forked process has these
        # one resolver for every chunk of a process: what it has worked out (module tables, names,
        # results) holds for any file, as in a serial judgement
        self.resolver = Resolver(index)
        # counted in sites, 200 as one file's work: a forked process resolves again what this one does (its own
        # memo), so it pays off only from about 16,000 sites (aiohttp, redis-py, synapse: wall -10%, CPU +12-30%;
        # textual's 11,500 gained nothing), whatever the count of files (redis-py has 100 async files)
        workers = jobs_for(index.workers, sum(len(f.sites) for f in first) // 200)
        self.serial = workers <= 1 or not _can_fork()
        self.helpers = workers - 1
        self._stack = contextlib.ExitStack()
        self._early: list[tuple[Part, Future[list[Finding]]]] = []
        if self.serial:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork")
        self._pool = self._stack.enter_context(
            ProcessPoolExecutor(
                max_workers=self.helpers,
                mp_context=context,
                initializer=_install,
                initargs=(_Worker(self.resolver, self.first),),
            )
        )
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
            return judged(self.resolver, loaded, names)
        index = self.index
        # modules parsed on demand here count (and report) nothing, as in the forked processes
        parsed, notices = index.parsed, len(index.notices)
        import pickle
        import tempfile

        folder = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="awaitguard-"))
        names_file = os.path.join(folder, "names")
        with open(names_file, "wb") as handle:
            pickle.dump(names, handle, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            # every part by name is queued for the workers before this process judges the files the
            # fork never saw; then the parts no worker has begun are shared out again
            self._early += self._queue(self._parts(by_name=True), names_file)
            out = judged(self.resolver, loaded[len(self.first) :], names)
            parts, begun = take_back(self._early)
            found: list[list[Finding]] = [[] for _ in parts]

            def local(at: int) -> None:
                found[at] = judged_part(self.resolver, self.first, parts[at], names)

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
        for _, future in self._early:
            future.cancel()
        self._stack.close()
