"""Where a project's importable code and its tests live: one answer for the three hooks.

Source roots are the folders whose children are top-level modules: a file ``<root>/pkg/mod.py`` is the
module ``pkg.mod``. Unless ``[tool.awaitguard] src`` names them, they are the project's top, ``src/``
when it exists, every ``<folder>/src`` holding a package (the src layout of a project kept in a
sub-folder), and the folders packaging metadata names, in any ``pyproject.toml`` or ``setup.cfg`` of
the project (a nested one's paths are relative to its own folder): setuptools' ``package-dir`` and
``packages.find.where``, poetry's ``packages = [{ from = ... }]``, hatch's wheel ``packages``.
Metadata is read through the project's tree, as its Python files are (never through a symbolic link).

Test files are what pytest collects by default (``test_*.py``, ``*_test.py``); test code is a test
file, a ``conftest.py`` or any module under a ``tests``/``test``/``testing`` folder.
"""

from __future__ import annotations

import os
import posixpath
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TEST_FOLDERS = frozenset({"tests", "test", "testing"})
_METADATA = ("pyproject.toml", "setup.cfg")
_DEPTH = 3  # folders this deep (or shallower) are looked at for a nested project's metadata


def is_test_file(path: str) -> bool:
    """A module pytest collects by default (``test_*.py`` or ``*_test.py``); ``path`` is posix or native."""
    base = path.replace(os.sep, "/").rsplit("/", 1)[-1]
    return base.endswith(".py") and (base.startswith("test_") or base.endswith("_test.py"))


def is_test_code(path: str) -> bool:
    """A test file, a ``conftest.py``, or any module under a tests folder."""
    parts = path.replace(os.sep, "/").split("/")
    return is_test_file(path) or parts[-1] == "conftest.py" or any(part in TEST_FOLDERS for part in parts[:-1])


def default_roots(files: Sequence[str], read: Callable[[Iterable[str]], Mapping[str, bytes]]) -> tuple[str, ...]:
    """The source roots of a project whose Python files (posix, relative to its top) are ``files``;
    ``read`` is its tree's reader (the work tree, the index or a revision: metadata as the scan sees it)."""
    found = {""}
    if any(path.startswith("src/") for path in files):
        found.add("src")
    for path in files:
        parts = path.split("/")
        # <folder>/src/<package>/__init__.py
        if len(parts) >= 4 and parts[-1] == "__init__.py" and parts[-3] == "src":
            found.add("/".join(parts[:-2]))
    candidates = [posixpath.join(folder, name) for folder in _folders(files) for name in _METADATA]
    for path, data in read(candidates).items():
        found.update(_declared(path, data))
    return tuple(sorted(found))


def _folders(files: Iterable[str]) -> Iterator[str]:
    """The project's top and every folder up to ``_DEPTH`` deep that holds Python files below it."""
    seen = {""}
    yield ""
    for path in files:
        parts = path.split("/")[:-1]
        for depth in range(1, min(len(parts), _DEPTH) + 1):
            folder = "/".join(parts[:depth])
            if folder not in seen:
                seen.add(folder)
                yield folder


# the source roots each metadata file declares, by its path and bytes: the index and HEAD of a commit's scan hold
# the same files (their TOML parsed once)
_DECLARED: dict[tuple[str, bytes], frozenset[str]] = {}


def _declared(path: str, data: bytes) -> frozenset[str]:
    found = _DECLARED.get((path, data))
    if found is None:
        if len(_DECLARED) > 1_000:
            _DECLARED.clear()  # a long-lived process meets projects without end
        found = _DECLARED[(path, data)] = frozenset(_declared_uncached(path, data))
    return found


def _declared_uncached(path: str, data: bytes) -> set[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return set()
    folder = posixpath.dirname(path)
    relative = _from_pyproject(text) if path.endswith("pyproject.toml") else _from_setup_cfg(text)
    out: set[str] = set()
    for entry in relative:
        joined = posixpath.normpath(posixpath.join(folder, entry.strip().replace("\\", "/")))
        if joined == "." or joined == ".." or joined.startswith("../") or posixpath.isabs(joined):
            continue  # the top is a root already; outside the project is never one of ours
        out.add(joined)
    return out


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = data.get(key)
        if not isinstance(value, Mapping):
            return {}
        data = value
    return data


def _from_pyproject(text: str) -> list[str]:
    if "package" not in text and "\\u" not in text and "\\U" not in text:
        return []  # every key read below holds the word, unless it is written with an escape
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []  # not ours to judge: the scan's own config reading says what is wrong with it
    out: list[str] = []
    setuptools = _table(data, "tool", "setuptools")
    package_dir = setuptools.get("package-dir")
    if isinstance(package_dir, Mapping) and isinstance(package_dir.get(""), str):
        out.append(package_dir[""])
    where = _table(setuptools, "packages", "find").get("where")
    if isinstance(where, list):
        out.extend(entry for entry in where if isinstance(entry, str))
    packages = _table(data, "tool", "poetry").get("packages")
    if isinstance(packages, list):
        out.extend(p["from"] for p in packages if isinstance(p, Mapping) and isinstance(p.get("from"), str))
    wheel = _table(data, "tool", "hatch", "build", "targets", "wheel").get("packages")
    if isinstance(wheel, list):
        out.extend(posixpath.dirname(p.rstrip("/")) for p in wheel if isinstance(p, str))
    return out


def _from_setup_cfg(text: str) -> list[str]:
    import configparser  # only for a setup.cfg: most scans read none

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    out: list[str] = []
    if parser.has_option("options", "package_dir"):
        for line in parser.get("options", "package_dir").splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.strip() and value.strip():
                out.append(value.strip())
    if parser.has_option("options.packages.find", "where"):
        out.extend(line.strip() for line in parser.get("options.packages.find", "where").splitlines() if line.strip())
    return out


__all__ = ["TEST_FOLDERS", "default_roots", "is_test_code", "is_test_file"]
