"""The one reader of ``[tool.awaitguard]`` for all three hooks. Unknown keys are errors."""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
}


@dataclass(frozen=True)
class Config:
    root: Path
    source: Path | None = None  # the file the settings came from
    src: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    cache: bool = True
    format: str = "text"
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    python: str | None = None  # the interpreter whose installed packages the project uses
    stub_paths: tuple[str, ...] = ()  # the user's own .pyi folders, relative to the root
    libraries: bool = True  # read typeshed and installed packages
    mypy: Mapping[str, Any] = field(default_factory=dict)
    smoke: Mapping[str, Any] = field(default_factory=dict)
    incidents: Mapping[str, Any] = field(default_factory=dict)


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
        src=tuple(table.get("src", ())),
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
    )
