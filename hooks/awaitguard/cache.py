"""The facts cache: each module's parsed facts, stored by content hash in one SQLite file.

A key is a blake2b hash of the file's bytes, its module name, whether it is a package and its
path (``FactsCache.key``); the folder is tagged with awaitguard's version, the running Python's
minor version and ``model.FACTS_FORMAT``, so facts are never read by code that made them
differently. Values are pickled ``ModuleFacts`` (or a library package's async names). A scan's
writes are batched into one transaction (``batch``); SQLite's write-ahead log lets parallel scans
share the file. The cache is never required: a lock held past the timeout, a corrupt or read-only
file makes every read a miss and every write a no-op, never a failure. A forked process opens its
own connection (one must not cross a fork). ``AWAITGUARD_CACHE_DIR`` or ``XDG_CACHE_HOME`` move it.
Its ``stubs/`` folder keeps typeshed's and the shipped stubs' facts keyed by their bytes, also under
``--no-cache`` (``engine.make_index``), tagged with ``code_stamp`` too; ``lib/`` keeps installed
packages' facts.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from awaitguard import __version__
from awaitguard.model import FACTS_FORMAT, ModuleFacts

try:  # the one hash used: hashlib would load OpenSSL first (3 ms of every scan's start) to hand over this one
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

_CACHE_TAG = f"{__version__}-py{sys.version_info.major}{sys.version_info.minor}-f{FACTS_FORMAT}"


def default_cache_dir() -> Path:
    base = os.environ.get("AWAITGUARD_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root if os.environ.get("AWAITGUARD_CACHE_DIR") else root / "awaitguard"


@functools.cache
def code_stamp() -> str:
    """A hash of the size and modification time of awaitguard's own ``*.py`` files: with it in its tag, a
    cache that ``--no-cache`` still reads (``stubs/``) is never read by changed code whose version and
    ``FACTS_FORMAT`` are the same (a checkout being worked on); an installed copy's files never change."""
    digest = blake2b(digest_size=8)
    folders = [os.path.dirname(os.path.abspath(__file__))]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    folders.append(entry.path)
                elif entry.name.endswith(".py"):
                    stat = entry.stat()
                    digest.update(f"{entry.path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


_INHERITED: list[sqlite3.Connection] = []  # connections a forked process inherited: never used, never closed


class FactsCache:
    """Facts pickled per (content hash, module name, version), in one SQLite file per cache folder.

    One file, not one per module: creating thousands of small files cost more than pickling their
    contents (about 0.5 ms each here). SQLite (as pre-commit's store and mypy's ``--sqlite-cache``)
    writes a whole batch in one transaction, and is safe under parallel runs. Never required: an
    error (a lock held past the timeout, a corrupt or read-only file) is a miss, never a failure.
    """

    def __init__(self, directory: Path, salt: str = "") -> None:
        self.directory = directory / (f"{_CACHE_TAG}-{salt}" if salt else _CACHE_TAG)
        self.path = self.directory / "facts.sqlite"
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._broken = False
        self._batch: list[tuple[str, bytes]] | None = None

    @staticmethod
    def key(module: str, is_package: bool, path: str, data: bytes) -> str:
        digest = blake2b(data, digest_size=20)
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
