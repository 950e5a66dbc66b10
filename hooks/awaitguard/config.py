"""The one reader of ``[tool.awaitguard]`` for all three hooks. Unknown keys are errors."""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """A one-line, user-facing configuration problem."""


# section -> key -> expected type(s). Sub-sections are tables of their own.
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "": {
        "src": (list,),
        "exclude": (list,),
        "select": (list,),
        "ignore": (list,),
        "cache": (bool,),
        "format": (str,),
        "per-file-ignores": (dict,),
        "python": (str,),
        "stub-paths": (list,),
        "libraries": (bool,),
    },
    "mypy": {
        "enable": (list,),
        "disable": (list,),
        "args": (list,),
        "check_untyped_defs": (bool,),
    },
    "smoke": {
        "packages": (list,),
        "tests": (list,),
        "markers": (str,),
        "loop": (str,),
        "typeguard": (bool,),
        "debug": (bool,),
    },
    "incidents": {  # docs/incidents.md
        "file": (str,),
        "path-map": (dict,),
    },
    "policy": {},  # checked by ``_policy``: lists of tables and a table of names, not plain values
    "parity": {
        "production": (str, list),
        "ignore": (list,),
    },
}
# [tool.awaitguard.policy]: key -> what it holds, for the error naming a malformed entry
POLICY_KEYS = {
    "real": "a list of tables with `targets` and `paths`",
    "sync": "a list of qualified names or patterns",
    "async": "a list of qualified names or patterns",
    "twins": "a table of `sync name` = `async name`",
    "forbid-in-async": "a list of qualified names or patterns",
    "conventions": "a list of async-name patterns such as `*_async` or `a*`",
}
DEFAULT_CONVENTIONS = ("*_async", "a*")
# a qualified name, or a pattern of one: dotted identifiers, with `*`, `?` and `[...]` allowed
_NAME = re.compile(r"^[\w*?\[\]!-]+(\.[\w*?\[\]!-]+)*$")
_WILD = re.compile(r"[*?\[]")


# The settings are named tuples, not dataclasses: every scan creates these classes at its start, and a
# frozen dataclass costs about 4 M instructions to create (its methods compiled from source), a named
# tuple under 1 M (docs/speed.md). The mapping defaults are one shared ``{}`` each, never written.
class Config(NamedTuple):
    root: Path
    source: Path | None = None  # the file the settings came from
    src: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    cache: bool = True
    format: str = "text"
    per_file_ignores: Mapping[str, tuple[str, ...]] = {}
    python: str | None = None  # the interpreter whose installed packages the project uses
    stub_paths: tuple[str, ...] = ()  # the user's own .pyi folders, relative to the root
    libraries: bool = True  # read typeshed and installed packages
    mypy: Mapping[str, Any] = {}
    smoke: Mapping[str, Any] = {}
    incidents: Mapping[str, Any] = {}
    policy: Policy | None = None  # [tool.awaitguard.policy], when the project has one
    parity: Mapping[str, Any] = {}  # [tool.awaitguard.parity]: docs/parity.md


class RealPolicy(NamedTuple):
    """``real`` entry: inside ``paths``, no test double may replace a name matching ``targets``."""

    targets: tuple[str, ...]
    paths: tuple[str, ...]
    line: int  # its line in the config file (what a finding or a failed test names)


class Policy(NamedTuple):
    """What a team states that the scanner cannot infer (docs/policies.md)."""

    source: str  # the config file, as shown to the user
    real: tuple[RealPolicy, ...] = ()
    sync: tuple[str, ...] = ()
    async_: tuple[str, ...] = ()
    twins: tuple[tuple[str, str], ...] = ()  # (sync name, async name)
    forbid_in_async: tuple[str, ...] = ()
    conventions: tuple[str, ...] = DEFAULT_CONVENTIONS
    lines: Mapping[str, int] = {}  # key (`sync`, a name) -> line in the file

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.lines.get("", 1))


def is_pattern(name: str) -> bool:
    return bool(_WILD.search(name))


def name_matches(name: str, patterns: Iterable[str]) -> str:
    """The first of ``patterns`` that the qualified ``name`` matches ("" for none): a pattern naming a
    module or a class covers its members too."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + "."):
            return pattern
    return ""


def find_root(start: Path) -> Path:
    """The nearest directory holding pyproject.toml or .git, else ``start``."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / "pyproject.toml").is_file() or (candidate / ".git").exists():
            return candidate
    return start


def _check(section: str, table: Mapping[str, Any], where: Path, codes: Collection[str] | None) -> None:
    allowed = SCHEMA[section]
    label = "tool.awaitguard" + (f".{section}" if section else "")
    for key, value in table.items():
        if section == "" and key == "policy":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{label}] `{key}` must be a table")
            continue  # ``_policy`` reads it
        if section == "" and key in SCHEMA and key != "":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{label}] `{key}` must be a table")
            _check(key, value, where, codes)
            continue
        if key == "per-file-ignores" and section == "" and isinstance(value, dict):
            for glob, entry in value.items():
                if not isinstance(entry, list) or not all(isinstance(c, str) for c in entry):
                    raise ConfigError(f"{where}: [{label}] `per-file-ignores` entry `{glob}` must be a list of codes")
                _check_codes(entry, codes, f"{where}: [{label}] `per-file-ignores` entry `{glob}`")
            continue
        if key not in allowed:
            subtables = [name for name in SCHEMA if name] if section == "" else []  # no tables inside the subtables
            known = ", ".join(sorted((*allowed, *subtables)))
            raise ConfigError(f"{where}: unknown key `{key}` in [{label}] (known: {known})")
        types = allowed[key]
        if not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{where}: [{label}] `{key}` must be a {names}, got {type(value).__name__}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where}: [{label}] `{key}` must be a list of strings")
        if key == "path-map" and isinstance(value, dict) and not all(isinstance(item, str) for item in value.values()):
            raise ConfigError(f"{where}: [{label}] `{key}` must map deployed prefixes to folders (strings)")
        if section == "" and key in ("select", "ignore") and isinstance(value, list):
            _check_codes(value, codes, f"{where}: [{label}] `{key}`")


def unknown_code(code: str, known: Collection[str]) -> str | None:
    """The error for a code (or code prefix, ``AG1``) that matches none of ``known``, else None."""
    if any(name.startswith(code) for name in known):
        return None
    return f"unknown code `{code}` (known: {', '.join(sorted(known))})"


def _check_codes(given: list[str], known: Collection[str] | None, what: str) -> None:
    if known is None:  # the caller did not ask for the check
        return
    for code in given:
        problem = unknown_code(code, known)
        if problem is not None:
            raise ConfigError(f"{what} names an {problem}")


def load(root: Path, path: Path | None = None, codes: Collection[str] | None = None) -> Config:
    """Read the config of the project at ``root`` (or the explicit file ``path``).

    ``codes``: the registered rule codes (``awaitguard.rules.CODES``, which this module does not
    import: it sits below the rules), to check ``select``/``ignore``/``per-file-ignores`` against.
    """
    source = path if path is not None else root / "pyproject.toml"
    if path is not None and not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if not source.is_file():
        return Config(root=root)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None
    tool = data.get("tool", {})
    table = tool.get("awaitguard") if isinstance(tool, dict) else None
    if table is None:
        return Config(root=root, source=source)
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.awaitguard] must be a table")
    _check("", table, source, codes)
    return Config(
        root=root,
        source=source,
        src=_roots(table.get("src", []), root, source),
        exclude=tuple(table.get("exclude", ())),
        select=tuple(table.get("select", ())),
        ignore=tuple(table.get("ignore", ())),
        cache=bool(table.get("cache", True)),
        format=str(table.get("format", "text")),
        per_file_ignores={k: tuple(v) for k, v in table.get("per-file-ignores", {}).items()},
        python=table.get("python"),
        stub_paths=tuple(table.get("stub-paths", ())),
        libraries=bool(table.get("libraries", True)),
        mypy=dict(table.get("mypy", {})),
        smoke=dict(table.get("smoke", {})),
        incidents=dict(table.get("incidents", {})),
        policy=_policy(table["policy"], source, shown=_shown_from(source, root)) if "policy" in table else None,
        parity=dict(table.get("parity", {})),
    )


def _roots(given: list[str], root: Path, where: Path) -> tuple[str, ...]:
    """``src``'s folders as posix paths from the project's top; one a typo or outside the project is an error."""
    roots = []
    for entry in given:
        posix = entry.replace("\\", "/").strip("/")
        while posix.startswith("./"):
            posix = posix[2:]
        if entry.startswith("/") or Path(entry).is_absolute() or ".." in posix.split("/"):
            raise ConfigError(f"{where}: [tool.awaitguard] `src` entry `{entry}` must be a folder inside the project")
        if not (root / posix).is_dir():
            raise ConfigError(f"{where}: [tool.awaitguard] `src` entry `{entry}` is not a folder of {root}")
        roots.append("" if posix in ("", ".") else posix)
    return tuple(roots)


def _names(value: object, what: str, patterns: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{what} must be a list of strings")
    for item in value:
        if not _NAME.match(item):
            raise ConfigError(f"{what}: `{item}` is not a qualified name (dotted identifiers, `*` allowed)")
        if not patterns and is_pattern(item):
            raise ConfigError(f"{what}: `{item}` must be a name, not a pattern")
    return tuple(value)


def policy_from_text(text: str, where: Path) -> Policy | None:
    """The policy of a pyproject.toml's text (another revision's, say), None when it has none or is broken."""
    try:
        table = tomllib.loads(text).get("tool", {}).get("awaitguard", {}).get("policy")
        return _policy(table, where, text) if isinstance(table, dict) else None
    except (tomllib.TOMLDecodeError, ConfigError, AttributeError):
        return None


def _shown_from(source: Path, root: Path) -> str:
    """The config file as findings name it: relative to the project's root, `/`-separated."""
    try:
        return source.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return source.name


def _policy(table: Mapping[str, Any], where: Path, text: str | None = None, shown: str = "") -> Policy:
    """The ``[tool.awaitguard.policy]`` table, checked entry by entry (one error naming key and file)."""
    label = f"{where}: [tool.awaitguard.policy]"
    text = where.read_text(encoding="utf-8") if text is None else text
    for key in table:
        if key not in POLICY_KEYS:
            raise ConfigError(
                f"{where}: unknown key `{key}` in [tool.awaitguard.policy] (known: {', '.join(POLICY_KEYS)})"
            )
    real_raw = table.get("real", [])
    if not isinstance(real_raw, list) or not all(isinstance(entry, dict) for entry in real_raw):
        raise ConfigError(f"{label} `real` must be {POLICY_KEYS['real']}")
    real: list[RealPolicy] = []
    for number, entry in enumerate(real_raw, 1):
        what = f"{label} `real` entry {number}"
        unknown = sorted(set(entry) - {"targets", "paths"})
        if unknown:
            raise ConfigError(f"{what}: unknown key `{unknown[0]}` (known: targets, paths)")
        for needed in ("targets", "paths"):
            if not entry.get(needed):
                raise ConfigError(f"{what} needs a non-empty `{needed}` list")
        targets = _names(entry["targets"], f"{what} `targets`")
        paths = entry["paths"]
        if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
            raise ConfigError(f"{what} `paths` must be a list of path globs")
        real.append(RealPolicy(targets, tuple(p.strip("/") or "*" for p in paths), _line(text, targets[0])))
    sync = _names(table.get("sync", []), f"{label} `sync`")
    async_ = _names(table.get("async", []), f"{label} `async`")
    twins_raw = table.get("twins", {})
    if not isinstance(twins_raw, dict) or not all(isinstance(v, str) for v in twins_raw.values()):
        raise ConfigError(f"{label} `twins` must be {POLICY_KEYS['twins']}")
    _names(list(twins_raw), f"{label} `twins`", patterns=False)
    _names(list(twins_raw.values()), f"{label} `twins`", patterns=False)
    forbid = _names(table.get("forbid-in-async", []), f"{label} `forbid-in-async`")
    conventions = table.get("conventions", list(DEFAULT_CONVENTIONS))
    if not isinstance(conventions, list) or not all(
        isinstance(c, str) and c.count("*") == 1 and c.strip("*").isidentifier() for c in conventions
    ):
        raise ConfigError(f"{label} `conventions` must be {POLICY_KEYS['conventions']} (one `*` each)")
    both = sorted(set(sync) & set(async_))
    if both:
        line = _line(text, both[0])  # the first of its two entries
        raise ConfigError(f"{where}:{line}: [tool.awaitguard.policy] `{both[0]}` is declared both `sync` and `async`")
    for sync_name, async_name in twins_raw.items():
        if sync_name in async_ or async_name in sync:
            wrong = sync_name if sync_name in async_ else async_name
            raise ConfigError(
                f"{label} `twins` pairs `{sync_name}` (sync) with `{async_name}` (async), "
                f"but `{wrong}` is declared the other way"
            )
    lines = {"": _line(text, "[tool.awaitguard.policy")}
    for name in (*sync, *async_, *forbid, *twins_raw, *twins_raw.values()):
        lines[name] = _line(text, name)
    for key in table:
        lines[key] = _line(text, key)
    return Policy(
        source=shown or where.name,
        real=tuple(real),
        sync=sync,
        async_=async_,
        twins=tuple(twins_raw.items()),
        forbid_in_async=forbid,
        conventions=tuple(conventions),
        lines=lines,
    )


def _line(text: str, needle: str) -> int:
    """The line of ``needle`` (quoted, or a key) after the policy table's header; 1 when not found."""
    start = text.find("[tool.awaitguard.policy")
    start = max(start, 0)
    for candidate in (f'"{needle}"', f"'{needle}'", needle):
        at = text.find(candidate, start)
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return 1
