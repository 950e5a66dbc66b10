"""Modules outside the project: shipped and user stubs, typeshed's stdlib, installed packages.

Nothing is imported. A module is located on disk the way a type checker does it (stub folders,
then typeshed for the standard library, then the target interpreter's ``sys.path`` with
``<pkg>-stubs`` and ``.pyi`` files before ``.py``), read with ``ast`` by ``facts.collect`` and
cached per distribution name and version (editable installs and loose files by size and mtime),
so an upgrade never serves stale facts and a second run parses nothing.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from awaitguard.facts import collect
from awaitguard.model import ModuleFacts
from awaitguard.source import SourceError

try:  # for cache keys: hashlib would load OpenSSL first (3 ms of every scan's start) to hand over this one
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

# never read from a library: their names are handled by ``resolve.KNOWN`` or never matter, and
# typeshed models them with special forms the facts walk cannot follow. `test` is CPython's own
# regression suite (internal to CPython, and thousands of files): a project's `import test.x` means
# its own `test/` folder, and when that is not a module of the project, nothing is known of it
SKIPPED = frozenset(
    {"builtins", "typing", "typing_extensions", "abc", "enum", "dataclasses", "mock", "_typeshed", "test"}
)
SKIPPED_PREFIXES = ("unittest.mock",)
TYPESHED = "<typeshed>"  # how messages show typeshed's folder
# `async def NAME` as a whole word: led by the literal (searched fast in C; a leading \b is tried at
# every byte, three times slower), the word boundary before it checked on each match (``_async_defs``)
_ASYNC_DEF = re.compile(rb"async[ \t]+def[ \t]+(\w+)")
_IDENT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_CLASS_BLOCK = re.compile(rb"^class[ \t]+(\w+)[^\n]*\n(?:(?:[ \t]+[^\n]*|[ \t]*)\n)*", re.M)
_RETURNS = re.compile(rb"\bdef[ \t]+(\w+)\([^)]*\)[ \t]*->[ \t]*['\"]?([\w.]+)", re.S)
_VERSION_LINE = re.compile(r"^([A-Za-z0-9_.]+):\s*(\d+)\.(\d+)-(?:(\d+)\.(\d+))?\s*$")


def async_names_in(data: bytes) -> set[str]:
    """A superset of the async names a module's bytes define (never parsed): `async def NAME`, classes with
    `__aenter__`/`__aiter__`, and plain defs declared to return one of them (`def timeout(delay) -> Timeout`)."""
    names: set[str] = set()
    if b"async" in data:
        names.update(_async_defs(data))
    if b"__aenter__" not in data and b"__aiter__" not in data:
        return names
    protocol_classes = {
        m.group(1).decode()
        for m in _CLASS_BLOCK.finditer(data)
        if b"__aenter__" in m.group(0) or b"__aiter__" in m.group(0)
    }
    names |= protocol_classes
    names.update(fn.decode() for fn, returned in _RETURNS.findall(data) if returned.decode() in protocol_classes)
    return names


class LibraryError(Exception):
    """The configured interpreter cannot be asked for its paths (one line for the user)."""


class Environment(NamedTuple):
    """What the project's code runs on: its version, platform and import path."""

    version: tuple[int, int]
    platform: str
    paths: tuple[str, ...]  # sys.path entries outside the project (site-packages, stdlib)
    typeshed: str | None  # typeshed's stdlib folder (``_TYPESHED_HOMES``), when one is installed

    @property
    def tag(self) -> str:
        return f"py{self.version[0]}.{self.version[1]}-{self.platform}"


# where typeshed's stdlib stubs are read, first found wins: typeshed_client (the scanner's dependency,
# 0.8 MB, kept in step with typeshed), then the copy inside mypy (present with the mypy hook). Each is
# (package, stdlib folder inside it, the file whose bytes change with the package's version)
_TYPESHED_HOMES = (("typeshed_client", "typeshed", "__init__.py"), ("mypy", "typeshed/stdlib", "version.py"))


@functools.cache
def _typeshed_home() -> tuple[str, str, Path] | None:
    """typeshed's stdlib folder, the package it comes from and that package's version file (neither
    package is imported)."""
    for package, folder, version_file in _TYPESHED_HOMES:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            candidate = Path(location) / folder
            if (candidate / "VERSIONS").is_file():
                return str(candidate), package, Path(location) / version_file
    return None


def _typeshed() -> str | None:
    home = _typeshed_home()
    return home[0] if home else None


_PROBE = "import json, sys; print(json.dumps([list(sys.version_info[:2]), sys.platform, sys.path]))"


def find_python(root: Path, configured: str | None) -> str | None:
    """The interpreter whose packages the project uses: configured, else ``.venv``/``venv``, else ours."""
    if configured:
        path = Path(configured)
        return str(path if path.is_absolute() else root / path)
    for folder in (".venv", "venv"):
        candidate = root / folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        if candidate.is_file():
            return str(candidate)
    return None


def environment(root: Path, python: str | None = None) -> Environment:
    """The environment of ``python`` (an interpreter path), or of the running interpreter."""
    if python is None:
        version, platform, paths = (sys.version_info[0], sys.version_info[1]), sys.platform, list(sys.path)
    else:
        try:
            proc = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LibraryError(f"cannot run the configured python `{python}`: {exc}") from None
        if proc.returncode != 0:
            raise LibraryError(f"the configured python `{python}` failed: {proc.stderr.strip()[-200:]}")
        import json

        raw = json.loads(proc.stdout)
        version, platform, paths = (int(raw[0][0]), int(raw[0][1])), str(raw[1]), [str(p) for p in raw[2]]
    resolved_root = root.resolve()
    kept: list[str] = []
    for entry in paths:
        if not entry or not os.path.isdir(entry):
            continue
        full = Path(entry).resolve()
        inside = full == resolved_root or resolved_root in full.parents
        if inside and full.name not in ("site-packages", "dist-packages"):
            continue  # the project's own source folders (a `.venv` inside it is a library folder)
        if str(full) not in kept:
            kept.append(str(full))
    return Environment(version, platform, tuple(kept), _typeshed())


class FactsStore(Protocol):
    """Where facts are kept between runs (``index.FactsCache``)."""

    def get(self, key: str) -> ModuleFacts | None: ...

    def put(self, key: str, facts: ModuleFacts) -> None: ...

    def get_names(self, key: str) -> frozenset[str] | None: ...

    def put_names(self, key: str, names: frozenset[str]) -> None: ...

    def close(self) -> None: ...


# Plain classes, not dataclasses: every scan creates them at its start, and a dataclass costs 2 to 4 M
# instructions to create (its methods compiled from source: docs/speed.md).
class Located:
    """A library module on disk."""

    def __init__(self, module: str, file: str, is_package: bool, shown: str, make_key: Callable[[], str]) -> None:
        self.module = module
        self.file = file
        self.is_package = is_package
        self.shown = shown  # the path messages show: ``<typeshed>/asyncio/locks.pyi``
        # what the cached facts depend on (distribution and version, or size and mtime): worked out
        # only for a cache (``key``), as finding a distribution reads every ``*.dist-info`` of its folder
        self.make_key = make_key

    @functools.cached_property
    def key(self) -> str:
        return self.make_key()


class _Site:
    """One ``sys.path`` folder, with its distributions read on first need."""

    __slots__ = ("dists", "folder")

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.dists: dict[str, str] | None = None  # top-level import name -> "name==version" ("" when editable)


class Library:
    """Locates and loads library modules; ``stub_dirs`` win over typeshed, which wins over packages."""

    def __init__(
        self,
        env: Environment,
        stub_dirs: Sequence[tuple[str, str]] = (),  # (folder, label) pairs, e.g. (".../stubs", "<stubs>")
        cache: FactsStore | None = None,
        # typeshed's modules, by content, also when ``cache`` is off (``engine.make_index``)
        stub_cache: FactsStore | None = None,
    ) -> None:
        self.env = env
        self.stub_dirs = stub_dirs
        self.cache = cache
        self.stub_cache = stub_cache
        self._located: dict[str, Located | None] = {}
        self._versions: dict[str, tuple[int, int, int, int]] | None = None
        self._sites = [_Site(folder) for folder in env.paths]
        self._names: dict[str, frozenset[str]] = {}
        self._listings: dict[str, frozenset[str]] = {}
        self._tops: dict[str, bool] = {}

    # -- locating ------------------------------------------------------------------------------
    def find(self, module: str) -> Located | None:
        if module in self._located:
            return self._located[module]
        found = None if self.skipped(module) else self._find(module)
        self._located[module] = found
        return found

    @staticmethod
    def skipped(module: str) -> bool:
        return module.split(".")[0] in SKIPPED or module.startswith(SKIPPED_PREFIXES)

    def _find(self, module: str) -> Located | None:
        parts = module.split(".")
        if not self._top_exists(parts[0]):
            return None
        for folder, label in self.stub_dirs:
            hit = self._probe(folder, parts, (".pyi",))
            if hit is not None:
                return self._located_at(module, hit, folder, label, str)
        if self.env.typeshed and self._in_stdlib(module):
            hit = self._probe(self.env.typeshed, parts, (".pyi",))
            if hit is not None:
                return self._located_at(module, hit, self.env.typeshed, TYPESHED, lambda: "typeshed")
        for site in self._sites:
            stubs = f"{parts[0]}-stubs"
            if stubs in self._entries(site.folder):
                hit = self._probe(os.path.join(site.folder, stubs), parts[1:], (".pyi",))
                if hit is not None:
                    dist = functools.partial(self._dist, site, stubs)
                    return self._located_at(module, hit, site.folder, "<site>", dist)
            hit = self._probe(site.folder, parts, (".pyi", ".py"))
            if hit is not None:
                top = parts[0]
                return self._located_at(module, hit, site.folder, "<site>", functools.partial(self._dist, site, top))
        return None

    def _top_exists(self, top: str) -> bool:
        """Whether any stub folder, typeshed or ``sys.path`` folder has ``top`` (one set lookup each)."""
        known = self._tops.get(top)
        if known is None:
            wanted = {top, f"{top}.py", f"{top}.pyi", f"{top}-stubs"}
            folders = [f for f, _ in self.stub_dirs] + [site.folder for site in self._sites]
            known = bool(self.env.typeshed and self._in_stdlib(top)) or any(
                not wanted.isdisjoint(self._entries(folder)) for folder in folders
            )
            self._tops[top] = known
        return known

    def _entries(self, folder: str) -> frozenset[str]:
        """The names in ``folder``, listed once (probing with ``stat`` per candidate is ten times slower)."""
        found = self._listings.get(folder)
        if found is None:
            try:
                found = frozenset(os.listdir(folder))
            except OSError:
                found = frozenset()
            self._listings[folder] = found
        return found

    def _probe(self, folder: str, parts: Sequence[str], suffixes: tuple[str, ...]) -> tuple[Path, bool] | None:
        """``folder/a/b/__init__.pyi`` or ``folder/a/b.pyi`` (then ``.py``): the file and whether it is a package."""
        current = folder
        for part in parts[:-1]:
            if part not in self._entries(current):
                return None
            current = os.path.join(current, part)
        for suffix in suffixes:
            init = f"__init__{suffix}"
            if not parts:
                if init in self._entries(current):
                    return Path(current, init), True
                continue
            entries = self._entries(current)
            last = parts[-1]
            if last in entries and init in self._entries(os.path.join(current, last)):
                return Path(current, last, init), True
            if f"{last}{suffix}" in entries:
                return Path(current, f"{last}{suffix}"), False
        return None

    def _located_at(
        self, module: str, hit: tuple[Path, bool], folder: str, label: str, dist: Callable[[], str]
    ) -> Located:
        file, is_package = hit
        rel = os.path.relpath(file, folder).replace(os.sep, "/")

        def make_key() -> str:
            found = dist()
            if found == "typeshed":
                key = f"typeshed:{_typeshed_version()}:{self.env.tag}"
            elif found:
                key = f"dist:{found}:{self.env.tag}"
            else:
                try:
                    stat = file.stat()
                except OSError:
                    stat = None
                key = f"file:{file}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}:{self.env.tag}"
            return f"{key}:{rel}"

        return Located(module, str(file), is_package, f"{label}/{rel}", make_key)

    def _in_stdlib(self, module: str) -> bool:
        if self._versions is None:
            self._versions = _read_versions(Path(self.env.typeshed or "") / "VERSIONS")
        parts = module.split(".")
        for cut in range(len(parts), 0, -1):
            entry = self._versions.get(".".join(parts[:cut]))
            if entry is not None:
                low = entry[:2]
                high = entry[2:]
                return low <= self.env.version and (high == (0, 0) or self.env.version <= high)
        return False

    def _dist(self, site: _Site, top: str) -> str:
        """``name==version`` of the distribution that installed ``top`` ("" for editable or unknown)."""
        if site.dists is None:
            site.dists = _distributions(Path(site.folder))
        return site.dists.get(top, "")

    # -- names, from bytes ------------------------------------------------------------------------
    def package_names(self, top: str) -> frozenset[str]:
        """A superset of the async names anywhere in the top-level package or module ``top``.

        Read from bytes with regular expressions, never parsed, and cached per distribution version:
        the full scan skips every site whose callee name is none of these (or the project's own), so
        most library modules are never parsed at all. A typeshed package's names are kept with its
        facts (``stub_cache``) when there is no cache: reading them again was a percent of a small
        library's cold scan (asyncio, concurrent, email ...).
        """
        found = self._names.get(top)
        if found is not None:
            return found
        located = self.find(top)
        if located is None:
            found = self._names[top] = frozenset()
            return found
        store = self.cache
        if store is None and self.stub_cache is not None and located.key.startswith("typeshed:"):
            store = self.stub_cache  # keyed by typeshed's source and version, the target Python and platform
        cacheable = store is not None and not located.key.startswith("file:")
        key = _digest(f"names\0{located.key}\0{top}") if cacheable else ""
        cached = store.get_names(key) if store is not None and cacheable else None
        if cached is not None:
            self._names[top] = cached
            return cached
        files = [located.file]
        if located.is_package:
            files = [
                os.path.join(folder, name)
                for folder, _, names in os.walk(os.path.dirname(located.file))
                for name in names
                if name.endswith((".py", ".pyi"))
            ]
        names: set[str] = set()
        for file in files:
            try:
                data = Path(file).read_bytes()
            except OSError:
                continue
            names |= async_names_in(data)
        found = self._names[top] = frozenset(names)
        if store is not None and cacheable:
            store.put_names(key, found)
        return found

    # -- loading -------------------------------------------------------------------------------
    def load(self, module: str) -> ModuleFacts | None:
        located = self.find(module)
        if located is None:
            return None
        cache = self.cache
        key = ""
        if cache is not None:
            key = _digest(f"lib\0{located.key}\0{module}")
            hit = cache.get(key)
            if hit is not None:
                return hit
        # a library file that cannot be read or parsed is not the user's to fix: the module is unknown
        try:
            data = Path(located.file).read_bytes()
        except OSError:
            return None
        target = (self.env.version, self.env.platform)
        if cache is None and self.stub_cache is not None and located.shown.startswith(f"{TYPESHED}/"):
            cache = self.stub_cache
            key = _digest(f"typeshed\0{module}\0{located.is_package}\0{located.shown}\0{target}", data)
            hit = cache.get(key)
            if hit is not None:
                return hit
        try:
            facts = collect(located.shown, module, located.is_package, data, target, sites=False)  # never judged
        except SourceError:
            return None
        if cache is not None:
            cache.put(key, facts)
        return facts


def _async_defs(data: bytes) -> list[str]:
    """The names of ``rb"\\basync[ \\t]+def[ \\t]+(\\w+)"`` matches in ``data``."""
    out: list[str] = []
    match = _ASYNC_DEF.search(data)
    while match is not None:
        start = match.start()
        if start and data[start - 1] in _IDENT:  # inside a longer word: search again from the next byte
            match = _ASYNC_DEF.search(data, start + 1)
            continue
        out.append(match.group(1).decode())
        match = _ASYNC_DEF.search(data, match.end())
    return out


def _digest(text: str, data: bytes = b"") -> str:
    """A cache key: of ``text``, then ``data``."""
    digest = blake2b(text.encode(), digest_size=20)
    digest.update(data)
    return digest.hexdigest()


def _read_versions(path: Path) -> dict[str, tuple[int, int, int, int]]:
    out: dict[str, tuple[int, int, int, int]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        match = _VERSION_LINE.match(line.split("#", 1)[0].strip() or "-")
        if match:
            name, a, b, c, d = match.groups()
            out[name] = (int(a), int(b), int(c or 0), int(d or 0))
    return out


def _distributions(folder: Path) -> dict[str, str]:
    """Top-level import names -> ``name==version`` from the ``*.dist-info`` folders of a site folder."""
    out: dict[str, str] = {}
    try:
        entries = [e for e in os.listdir(folder) if e.endswith(".dist-info")]
    except OSError:
        return out
    import json

    for entry in entries:
        info = folder / entry
        name, _, version = entry[: -len(".dist-info")].partition("-")
        editable = False
        try:
            direct = json.loads((info / "direct_url.json").read_text(encoding="utf-8"))
            editable = bool(direct.get("dir_info", {}).get("editable"))
        except (OSError, ValueError, AttributeError):
            pass
        tag = "" if editable else f"{name}=={version}"
        tops: set[str] = set()
        try:
            tops.update(t.strip() for t in (info / "top_level.txt").read_text(encoding="utf-8").split() if t.strip())
        except OSError:
            try:
                for line in (info / "RECORD").read_text(encoding="utf-8").splitlines():
                    first = line.split(",", 1)[0].split("/", 1)[0]
                    if first and not first.endswith((".dist-info", ".data", ".pth")) and first != "..":
                        tops.add(first.removesuffix(".py").removesuffix(".pyi"))
            except OSError:
                continue
        for top in tops:
            out.setdefault(top, tag)
            out.setdefault(f"{top}-stubs", tag)
    return out


@functools.cache
def _typeshed_version() -> str:
    """The typeshed source and a hash of its version file."""
    home = _typeshed_home()
    if home is None:
        return "none"
    try:
        return f"{home[1]}:{blake2b(home[2].read_bytes(), digest_size=8).hexdigest()}"
    except OSError:
        return f"{home[1]}:none"
