"""Which files the smoke hook counts as test files: pytest's ``python_files``, read where pytest reads it.

From a folder, pytest collects the ``.py`` files whose name matches ``python_files`` (by default
``test_*.py`` and ``*_test.py``; a pattern holding a ``/`` is matched against the whole path). The hook
selects test files among the changed ones the same way, so a project that names its tests otherwise
(``python_files = check_*.py``) has them selected. The value comes from the file pytest takes its
configuration from, found as pytest finds it for the test paths: in their common folder, then each folder
above it up to the repository's root (nothing outside the repository is read), the first of
``pytest.toml``, ``.pytest.toml``, ``pytest.ini``, ``.pytest.ini`` (each taken even without a pytest
table), ``pyproject.toml`` (``[tool.pytest]`` or ``[tool.pytest.ini_options]``), ``tox.ini``
(``[pytest]``) and ``setup.cfg`` (``[tool:pytest]``). A ``-c`` or ``-o python_files=...`` passed to pytest
is not followed, and a file pytest cannot parse leaves pytest's default (pytest itself then says what is
wrong with it).
"""

from __future__ import annotations

import configparser
import fnmatch
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT = ("test_*.py", "*_test.py")


@dataclass(frozen=True)
class PytestFiles:
    """The ``python_files`` patterns in force, and the file they come from (``None``: pytest's default)."""

    patterns: tuple[str, ...] = DEFAULT
    source: Path | None = None

    def matches(self, path: Path) -> bool:
        """pytest would collect ``path`` (absolute) from its folder: a ``.py`` file matching a pattern."""
        if path.suffix != ".py":
            return False
        return any(_fnmatch_ex(pattern, path) for pattern in self.patterns)

    def describe(self, root: Path) -> str:
        """The patterns and where they come from, for the hook's line: ``test_*.py or *_test.py, pytest's ...``."""
        names = " or ".join(self.patterns) if self.patterns else "(no pattern)"
        if self.source is None:
            return f"{names}, pytest's default python_files"
        try:
            where = self.source.relative_to(root).as_posix()
        except ValueError:
            where = str(self.source)
        return f"{names}, from python_files in {where}"


PYTEST_DEFAULT = PytestFiles()


def _fnmatch_ex(pattern: str, path: Path) -> bool:
    """pytest's own matching (``_pytest.pathlib.fnmatch_ex``) on a POSIX path."""
    if "/" not in pattern:
        return fnmatch.fnmatch(path.name, pattern)
    return fnmatch.fnmatch(path.as_posix(), pattern if pattern.startswith("/") else "*/" + pattern)


def _ini(section: str, required: bool) -> Callable[[str], Mapping[str, Any] | None]:
    def load(text: str) -> Mapping[str, Any] | None:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read_string(text)
        if parser.has_section(section):
            return dict(parser.items(section))
        return None if required else {}

    return load


def _pytest_toml(text: str) -> Mapping[str, Any] | None:
    table = tomllib.loads(text).get("pytest")
    return table if isinstance(table, dict) else {}


def _pyproject(text: str) -> Mapping[str, Any] | None:
    tool = tomllib.loads(text).get("tool")
    table = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        return None
    native = {key: value for key, value in table.items() if key != "ini_options"}
    if native:
        return native
    ini = table.get("ini_options")
    return ini if isinstance(ini, dict) else None


# pytest's precedence (_pytest.config.findpaths.CONFIG_LOADERS_BY_NAME); None: the file holds no pytest table
_LOADERS: dict[str, Callable[[str], Mapping[str, Any] | None]] = {
    "pytest.toml": _pytest_toml,
    ".pytest.toml": _pytest_toml,
    "pytest.ini": _ini("pytest", required=False),
    ".pytest.ini": _ini("pytest", required=False),
    "pyproject.toml": _pyproject,
    "tox.ini": _ini("pytest", required=True),
    "setup.cfg": _ini("tool:pytest", required=True),
}


def find(start: Path, top: Path | None = None) -> PytestFiles:
    """The ``python_files`` pytest uses when it is given ``start`` (an absolute folder), looked for up to ``top``."""
    folders = (start, *start.parents)
    if top is not None and (start == top or top in start.parents):
        folders = folders[: folders.index(top) + 1]
    for folder in folders:
        for name, load in _LOADERS.items():
            path = folder / name
            if not path.is_file():
                continue
            try:
                table = load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError, configparser.Error):
                return PytestFiles()  # tomllib.TOMLDecodeError is a ValueError
            if table is None:
                continue
            value = table.get("python_files")
            if isinstance(value, str):
                return PytestFiles(tuple(shlex.split(value)), path)
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return PytestFiles(tuple(value), path)
            return PytestFiles(DEFAULT, None)  # pytest's configuration is here, without python_files
    return PytestFiles()


__all__ = ["DEFAULT", "PYTEST_DEFAULT", "PytestFiles", "find"]
