"""Plugin options: ``[tool.awaitguard.mypy]`` (through ``awaitguard.config``) or ``[awaitguard.mypy]``.

The INI section lives in mypy.ini / .mypy.ini / setup.cfg, beside ``[mypy]``. Both are read; an
INI key overrides the same TOML key. Unknown keys and unknown codes are errors naming the file.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from awaitguard import config as core_config
from awaitguard.config import ConfigError
from awaitguard.findings import CodeFilter
from awaitguard.rules import CODES

INI_SECTION = "awaitguard.mypy"
KEYS = tuple(core_config.SCHEMA["mypy"])


@dataclasses.dataclass(frozen=True)
class PluginConfig:
    enabled: frozenset[str]  # AG codes the plugin and runner report
    args: tuple[str, ...] = ()  # extra mypy arguments for the runner
    check_untyped_defs: bool = True
    src: tuple[str, ...] = ()  # ``[tool.awaitguard] src``, relative to the mypy run's directory
    # ``[tool.awaitguard]`` select/ignore/per-file-ignores, as the scan applies them; their globs are
    # relative to ``root``, the project's top
    codes: CodeFilter = dataclasses.field(default_factory=CodeFilter)
    root: Path = Path()
    policy: core_config.Policy | None = None  # [tool.awaitguard.policy] (awaitguard.mypy_plugin.policy)

    def data(self) -> dict[str, Any]:
        """A JSON-able view, for ``report_config_data``."""
        return {
            "enabled": sorted(self.enabled),
            "args": list(self.args),
            "check_untyped_defs": self.check_untyped_defs,
            "src": list(self.src),
        }


def _codes(items: Iterable[str], where: str, key: str) -> set[str]:
    by_slug = {meta.slug: code for code, meta in CODES.items()}
    found: set[str] = set()
    for item in items:
        name = item.strip()
        if name in CODES:
            found.add(name)
        elif name in by_slug:
            found.add(by_slug[name])
        elif name:
            raise ConfigError(f"{where}: `{key}` names unknown code `{name}` (known: {', '.join(sorted(CODES))})")
    return found


def from_mapping(table: Mapping[str, Any], where: str) -> PluginConfig:
    for key in table:
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key `{key}` (known: {', '.join(sorted(KEYS))})")
    disabled = _codes(table.get("disable", ()), where, "disable")
    enabled = _codes(table.get("enable", ()), where, "enable")
    live = frozenset(code for code, meta in CODES.items() if meta.retired_by is None)
    return PluginConfig(
        enabled=frozenset((live - disabled) | enabled),
        args=tuple(table.get("args", ())),
        check_untyped_defs=bool(table.get("check_untyped_defs", True)),
    )


def _ini_table(path: Path) -> dict[str, Any]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse ({exc})") from None
    if not parser.has_section(INI_SECTION):
        return {}
    table: dict[str, Any] = {}
    for key, raw in parser.items(INI_SECTION):
        where = f"{path}: [{INI_SECTION}]"
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key `{key}` (known: {', '.join(sorted(KEYS))})")
        if key == "check_untyped_defs":
            try:
                table[key] = parser.getboolean(INI_SECTION, key)
            except ValueError:
                raise ConfigError(f"{where}: `{key}` must be true or false, got {raw!r}") from None
        elif key == "args":
            table[key] = shlex.split(raw)
        else:
            table[key] = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
    return table


def load(config_file: str | None, cwd: Path | None = None) -> PluginConfig:
    """Options for the mypy run whose config file is ``config_file`` (None: no file found)."""
    ini: dict[str, Any] = {}
    where = "awaitguard"
    cwd = cwd or Path.cwd()
    if config_file:
        path = Path(config_file)
        root = path.resolve().parent
        if path.suffix in (".ini", ".cfg") or path.name == ".mypy.ini":
            ini = _ini_table(path)
            where = f"{path}: [{INI_SECTION}]"
    else:
        root = core_config.find_root(cwd)
    toml = core_config.load(root, codes=CODES)
    merged: dict[str, Any] = dict(toml.mypy)
    if toml.source is not None and merged:
        where = f"{toml.source}: [tool.awaitguard.mypy]"
    merged.update(ini)
    found = from_mapping(merged, where)
    src = tuple(os.path.relpath(root / entry, cwd).replace(os.sep, "/") for entry in toml.src)
    return dataclasses.replace(found, src=src, codes=CodeFilter.of(toml), root=root, policy=toml.policy)


__all__ = ["INI_SECTION", "KEYS", "ConfigError", "PluginConfig", "from_mapping", "load"]
