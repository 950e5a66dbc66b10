"""Where source bytes come from: the work tree here, a git index or revision in ``gitscope``."""

from __future__ import annotations

import errno
import fnmatch
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

PY_SUFFIXES = (".py", ".pyi")
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "__pycache__",
        "build",
        "dist",
        "site-packages",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
    }
)


class Tree(Protocol):
    """A set of Python files that can be listed, read and searched by word."""

    root: Path

    def files(self) -> Sequence[str]:
        """Every Python file, as a posix path relative to ``root``."""
        ...

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each path that exists; missing paths are left out."""
        ...

    def grep(self, words: Collection[str]) -> set[str]:
        """Python files that hold any of ``words`` as a whole word."""
        ...


def excluded(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.rstrip("/") + "/*") for p in patterns)


ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")  # a virtualenv's or a conda environment's root


def is_environment(folder: str) -> bool:
    """A Python environment kept in the project: its installed packages are not the project's code."""
    return any(os.path.exists(os.path.join(folder, marker)) for marker in ENVIRONMENT_MARKERS)


def walk(root: Path, exclude: Iterable[str] = ()) -> list[str]:
    """Python files under ``root`` without git: skips hidden, virtualenv and build folders."""
    patterns = tuple(exclude)
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not d.startswith(".")
            and not d.endswith(".egg-info")
            and not is_environment(os.path.join(dirpath, d))
        )
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if name.endswith(PY_SUFFIXES):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
                if not excluded(rel, patterns):
                    found.append(rel)
    return found


_IDENT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


# every byte that is no ASCII word byte becomes a space: ``split`` then gives the words ``holds_word`` sees
_WORD_TABLE = bytes(byte if byte in _IDENT else 0x20 for byte in range(256))
_WORD_BYTES = re.compile(rb"\w+", re.ASCII)


def words_of(data: bytes) -> frozenset[bytes]:
    """The words of ``data`` as ``holds_word`` (and `git grep -w` in the C locale) sees them: runs of ASCII word
    bytes. A word of them all is held in ``data`` iff it is in the set."""
    return frozenset(data.translate(_WORD_TABLE).split())


def plain_words(words: Iterable[bytes]) -> bool:
    """Whether every one of ``words`` is made of ASCII word bytes only (``words_of`` can answer for it)."""
    return all(_WORD_BYTES.fullmatch(word) for word in words)


class WordFinder:
    """Which files of a tree that keeps every file's bytes hold one of some plain words (``plain_words``).

    Two ways to answer, for the two kinds of scan. Each file's words, made once (``words_of``: 0.18 s for
    18 MB of source), answer any word at once: a full scan asks dozens (aiohttp 44, redis-py 60 to 80), and
    ``bytes.find`` met a short name (`get`) inside longer ones over and over (redis-py: 44,000 searches,
    0.3 s; the words of its 6.9 MB, 0.1 s). A commit's scan asks a few (1 to 16 in the bench's commits),
    and ``holds_word`` over every file finds one word in 4 to 10 ms over those 18 MB: making the words was
    a third of a flip's scan. So the first ``find_first`` words asked are looked for with ``holds_word``
    (each once: the files holding it are kept), and the words are made only when a scan asks for more.
    """

    def __init__(self, find_first: int) -> None:
        self.find_first = find_first
        self._sets: dict[str, frozenset[bytes]] | None = None
        self._held: dict[bytes, set[str]] = {}  # the files holding each word asked, however it was found

    def holding(
        self,
        paths: Iterable[str],
        data: Mapping[str, bytes | None],
        plain: Sequence[bytes],
        words: Callable[[str], frozenset[bytes]],
    ) -> set[str]:
        """The ``paths`` whose bytes (``data``; missing or None: none) hold a word of ``plain``; ``words`` gives
        a path's words (``words_of`` of its bytes) once they answer. The same paths at every call, so each word's
        files are found once (a large tree's scan asks hundreds of greps)."""
        held = self._held
        if self._sets is None and len(held.keys() | plain) <= self.find_first:
            for word in plain:
                if word not in held:
                    held[word] = {path for path in paths if (blob := data.get(path)) and holds_word(blob, word)}
        else:
            if self._sets is None:
                self._sets = {path: words(path) for path in paths}
            sets = self._sets
            for word in plain:
                if word not in held:
                    held[word] = {path for path, found in sets.items() if word in found}
        return set().union(*(held[word] for word in plain))


def holds_word(data: bytes, word: bytes) -> bool:
    """Whether ``word`` occurs in ``data`` with no ASCII word byte (``\\w`` of a bytes pattern) on either
    side, found with ``bytes.find`` (a regex led by a look-behind is tried at every byte)."""
    at = data.find(word)
    while at != -1:
        end = at + len(word)
        if (at == 0 or data[at - 1] not in _IDENT) and (end == len(data) or data[end] not in _IDENT):
            return True
        at = data.find(word, at + 1)
    return False


_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # none on Windows: a symlink is then left out by looking first


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | _NO_FOLLOW)


class FsTree:
    """Files on disk, as they are now."""

    def __init__(
        self, root: Path, files: Sequence[str] | None = None, exclude: Iterable[str] = (), keep: bool = False
    ) -> None:
        self.root = root
        self._exclude = tuple(exclude)
        self._files = list(files) if files is not None else None
        # ``keep``: the bytes read are kept and served again (a one-shot scan: the files do not change while it
        # runs, and a full scan holds every file's bytes anyway; its searches read the whole tree again and again)
        self._kept: dict[str, bytes] | None = {} if keep else None
        self._finder = WordFinder(0)  # ``grep`` where the bytes are kept: a full scan's, which asks dozens of words
        self._python: dict[str, bytes] | None = None  # ``grep``'s files and their bytes

    @property
    def keeps(self) -> bool:
        """Whether the bytes read are kept (and each file's words, once a grep asks)."""
        return self._kept is not None

    def files(self) -> Sequence[str]:
        if self._files is None:
            self._files = walk(self.root, self._exclude)
        return self._files

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each regular file. A symlink is left out, as git's view leaves it out: its target
        may lie outside the repository (never read), or be a file of the project (scanned once, as itself)."""
        out: dict[str, bytes] = {}
        root = os.fspath(self.root)
        kept = self._kept
        for path in paths:
            if kept is not None and path in kept:
                out[path] = kept[path]
                continue
            full = os.path.join(root, path)
            if not _NO_FOLLOW and os.path.islink(full):
                continue
            try:  # os.path and an unbuffered file: a full scan reads every file, Path objects cost
                with open(full, "rb", buffering=0, opener=_no_follow) as handle:
                    out[path] = handle.read()
                if kept is not None:
                    kept[path] = out[path]
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.EMLINK):  # a symlink: O_NOFOLLOW refused it (EMLINK: BSD)
                    raise
        return out

    def grep(self, words: Collection[str]) -> set[str]:
        if not words:
            return set()
        plain = [word.encode() for word in words]
        if self._kept is not None and plain_words(plain):
            if self._python is None:  # the Python files' bytes, gathered once (``_kept`` holds other files too)
                self._python = self.read(self.files())
            python = self._python
            return self._finder.holding(python, python, plain, lambda path: words_of(python[path]))
        return {path for path, data in self.read(self.files()).items() if any(holds_word(data, w) for w in plain)}
