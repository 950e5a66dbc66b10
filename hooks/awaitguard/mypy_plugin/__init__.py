"""mypy plugin and runner for awaitguard-mypy.

``plugin(version)`` is what mypy calls (``plugins = awaitguard.mypy``); ``data_plugin(version)`` is the
entry ``awaitguard mypy`` loads, whose findings the hook reads back as data. Both refuse mypy versions
outside the tested range.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy.plugin import Plugin

MYPY_MIN = (2, 0)
MYPY_MAX = (2, 5)  # exclusive
SUPPORTED = ">=2.0,<2.5"


def version_tuple(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        return (0, 0)
    return (int(match.group(1)), int(match.group(2)))


def supported(version: str) -> bool:
    return MYPY_MIN <= version_tuple(version) < MYPY_MAX


def _refuse(version: str) -> None:
    if not supported(version):
        # mypy has no channel for a plugin to refuse; print one line and stop, as django-stubs does.
        print(
            f"awaitguard.mypy: error: mypy {version} is not supported (tested range: mypy{SUPPORTED})",
            file=sys.stderr,
        )
        raise SystemExit(2)


def plugin(version: str) -> type[Plugin]:
    _refuse(version)
    from awaitguard.mypy_plugin.main import AwaitguardPlugin

    return AwaitguardPlugin


def data_plugin(version: str) -> type[Plugin]:
    """The entry ``awaitguard mypy`` names (``awaitguard.mypy:data_plugin``): findings handed back as data."""
    _refuse(version)
    from awaitguard.mypy_plugin.main import AwaitguardDataPlugin

    return AwaitguardDataPlugin


__all__ = ["SUPPORTED", "data_plugin", "plugin", "supported"]
