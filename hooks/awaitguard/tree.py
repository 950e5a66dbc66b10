"""Where source bytes come from: the work tree here, a git index or revision in ``gitscope``."""

from __future__ import annotations

import errno
import fnmatch
import os
import re
from collections.abc import Collection, Iterable, Sequence
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
        self._word_sets: dict[str, frozenset[bytes]] | None = None  # ``_words``

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
            found = self._words()
            return {path for path, names in found.items() if any(w in names for w in plain)}
        return {path for path, data in self.read(self.files()).items() if any(holds_word(data, w) for w in plain)}

    def _words(self) -> dict[str, frozenset[bytes]]:
        """Each file's words (runs of ASCII word bytes), made once for a tree that keeps its bytes: a full scan
        greps the whole tree for dozens of names, and ``bytes.find`` met a short name (`get`) inside longer ones
        over and over (redis-py: 44,000 searches, 0.3 s; the words of its 6.9 MB, 0.1 s)."""
        if self._word_sets is None:
            self._word_sets = {path: words_of(data) for path, data in self.read(self.files()).items()}
        return self._word_sets
