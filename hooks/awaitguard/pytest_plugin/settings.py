"""The smoke plugin's settings: flag, then ini key, then ``[tool.awaitguard.smoke]``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from awaitguard import config as ag_config
from awaitguard.findings import CodeFilter

# flag name (without "--") -> (ini type, help). Every flag has an ini twin of the same name.
OPTIONS: dict[str, tuple[str, str]] = {
    "awaitguard": ("bool", "enable awaitguard smoke checks (test doubles, dropped coroutines, typeguard)"),
    "awaitguard-packages": (
        "linelist",
        "comma separated packages to instrument with typeguard "
        "(default: [tool.awaitguard.smoke] packages); their patch targets are always checked",
    ),
    "awaitguard-loop": (
        "string",
        'event loop for async tests: "asyncio" (default), "uvloop" or "module:factory"',
    ),
    "awaitguard-typeguard": ("bool", "install typeguard's import hook over the packages (default: true)"),
    "awaitguard-debug": ("bool", "list every patch the guards judged at the end of the run"),
    "awaitguard-incidents": ("bool", "fail when a recorded production incident has no test executing its line"),
}


@dataclass(frozen=True)
class Settings:
    enabled: bool = False
    packages: tuple[str, ...] = ()
    loop: str = "asyncio"
    typeguard: bool = True
    debug: bool = False
    rootpath: Path = Path()
    codes: CodeFilter = field(default_factory=CodeFilter)  # [tool.awaitguard] select/ignore/per-file-ignores
    config_root: Path = Path()  # where pyproject.toml is: per-file-ignores' globs are relative to it
    policy: ag_config.Policy | None = None  # [tool.awaitguard.policy]: its `real` entries fail a test's doubles
    incidents: bool = False  # an incident no test reaches fails the run (awaitguard smoke --all)


SETTINGS_KEY = pytest.StashKey[Settings]()


def _dest(name: str) -> str:
    return name.replace("-", "_")


def _option(config: pytest.Config, name: str, namespace: argparse.Namespace | None = None) -> Any:
    """The flag's value, or None when the flag was not given."""
    if namespace is not None:
        return getattr(namespace, _dest(name), None)
    return config.getoption(_dest(name), default=None)


def _ini(config: pytest.Config, name: str) -> Any:
    try:
        return config.getini(name)
    except ValueError:  # the key is not registered (should not happen) or has a bad value
        return None


def _bool(
    config: pytest.Config,
    namespace: argparse.Namespace | None,
    name: str,
    table: Mapping[str, Any],
    key: str,
    default: bool,
) -> bool:
    flag = _option(config, name, namespace)
    if flag is not None:
        return bool(flag)
    ini = _ini(config, name)  # None when unset: an explicit ini value wins over [tool.awaitguard.smoke]
    if ini is not None:
        return bool(ini)
    return bool(table.get(key, default))


def read(config: pytest.Config, namespace: argparse.Namespace | None = None) -> Settings:
    """Resolve the settings once; raises ``pytest.UsageError`` on bad configuration.

    ``namespace`` is ``early_config.known_args_namespace`` before the command line is fully parsed.
    """
    enabled = bool(_option(config, "awaitguard", namespace)) or bool(_ini(config, "awaitguard"))
    if not enabled:
        return Settings()
    try:
        loaded = ag_config.load(ag_config.find_root(config.rootpath))
    except ag_config.ConfigError as exc:
        raise pytest.UsageError(f"awaitguard: {exc}") from None
    smoke = loaded.smoke
    flag_packages = _option(config, "awaitguard-packages", namespace)
    if flag_packages:
        packages = [p.strip() for p in str(flag_packages).split(",")]
    elif _ini(config, "awaitguard-packages") is not None:
        packages = list(_ini(config, "awaitguard-packages"))
    else:
        packages = list(smoke.get("packages", []))
    loop = (
        _option(config, "awaitguard-loop", namespace) or _ini(config, "awaitguard-loop") or smoke.get("loop", "asyncio")
    )
    return Settings(
        enabled=True,
        packages=tuple(p for p in packages if p),
        loop=str(loop),
        typeguard=_bool(config, namespace, "awaitguard-typeguard", smoke, "typeguard", True),
        debug=_bool(config, namespace, "awaitguard-debug", smoke, "debug", False),
        rootpath=config.rootpath,
        codes=CodeFilter.of(loaded),
        config_root=loaded.root,
        policy=loaded.policy,
        incidents=_bool(config, namespace, "awaitguard-incidents", {}, "incidents", False),
    )
