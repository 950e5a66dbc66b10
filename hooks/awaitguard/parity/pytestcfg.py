"""The pytest configuration file pytest itself would pick, and the warning filters in it."""

from __future__ import annotations

import configparser
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awaitguard.parity.production import Line, read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass
class PytestConfig:
    path: str = ""  # "" when the project has none
    options: dict[str, tuple[str | list[str], int]] = field(default_factory=dict)  # key -> (value, line)
    text: str = ""

    def line_of(self, needle: str, default: int) -> int:
        for number, raw in enumerate(self.text.splitlines(), 1):
            if needle and needle in raw:
                return number
        return default

    def where(self, key: str, needle: str = "") -> Line:
        line = self.options[key][1] if key in self.options else 0
        if needle:
            line = self.line_of(needle, line)
        raw = self.text.splitlines()[line - 1].strip() if 0 < line <= len(self.text.splitlines()) else ""
        return Line(self.path, line, raw)

    def lines(self, key: str) -> list[str]:
        value = self.options.get(key, ("", 0))[0]
        if isinstance(value, list):
            return [str(v) for v in value]
        return [v.strip() for v in str(value).splitlines() if v.strip() and not v.strip().startswith("#")]


def _ini(text: str, section: str, path: str) -> PytestConfig | None:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_section(section):
        return None
    found = PytestConfig(path, text=text)
    heading = re.compile(rf"^\s*\[{re.escape(section)}\]\s*$")
    start = next((n for n, raw in enumerate(text.splitlines(), 1) if heading.match(raw)), 1)
    for key, value in parser.items(section):
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*[=:]", re.IGNORECASE)
        line = next((n for n, raw in enumerate(text.splitlines(), 1) if n > start and pattern.match(raw)), start)
        found.options[key] = (value, line)
    return found


def _toml(text: str, path: str) -> PytestConfig | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    tool: Any = data.get("tool", {})
    pytest_table: Any = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(pytest_table, dict):
        return None
    table = pytest_table.get("ini_options", pytest_table)
    if not isinstance(table, dict):
        return None
    found = PytestConfig(path, text=text)
    for key, value in table.items():
        if isinstance(value, (str, list)):
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            line = next((n for n, raw in enumerate(text.splitlines(), 1) if pattern.match(raw)), 0)
            found.options[key] = (value if isinstance(value, str) else [str(v) for v in value], line)
    return found


def pytest_config(root: Path) -> PytestConfig:
    """pytest's own order: pytest.ini, .pytest.ini, pyproject.toml, tox.ini, setup.cfg; the first that has a section."""
    for name in ("pytest.ini", ".pytest.ini"):
        text = read_text(root, name)
        if text is not None:
            return _ini(text, "pytest", name) or PytestConfig(name, text=text)
    text = read_text(root, "pyproject.toml")
    if text is not None and (found := _toml(text, "pyproject.toml")) is not None:
        return found
    text = read_text(root, "tox.ini")
    if text is not None and (found := _ini(text, "pytest", "tox.ini")) is not None:
        return found
    text = read_text(root, "setup.cfg")
    if text is not None and (found := _ini(text, "tool:pytest", "setup.cfg")) is not None:
        return found
    return PytestConfig()


# What pytest sees when a coroutine is never awaited: the RuntimeWarning itself, or, once a filter turns
# it into an error inside the coroutine's finalizer, pytest's unraisable-exception warning.
NEVER_AWAITED = ("RuntimeWarning", "coroutine 'handler' was never awaited")
UNRAISABLE = ("PytestUnraisableExceptionWarning", "Exception ignored in: <coroutine object handler at 0x7f00>")
MATCHES = {
    "RuntimeWarning": {"Warning", "RuntimeWarning"},
    "PytestUnraisableExceptionWarning": {"Warning", "PytestWarning", "PytestUnraisableExceptionWarning"},
}


@dataclass(frozen=True)
class Filter:
    action: str
    message: str  # a regular expression matched at the start of the message
    category: str  # the last component: "RuntimeWarning", "Warning"
    module: str
    where: Line
    spec: str = ""  # as written


def parse_filter(spec: str, where: Line, escape: bool) -> Filter | None:
    """``action:message:category:module:lineno`` as pytest reads it; None when it is not one."""
    parts = [p.strip() for p in spec.split(":")]
    parts += [""] * (5 - len(parts))
    if len(parts) > 5:
        return None
    action, message, category, module = parts[0], parts[1], parts[2], parts[3]
    actions = ("default", "error", "ignore", "always", "all", "module", "once")
    matched = [a for a in actions if a.startswith(action)] if action else []
    if len(matched) != 1:
        return None
    category = category.rsplit(".", 1)[-1] or "Warning"
    return Filter(matched[0], re.escape(message) if escape else message, category, module, where, spec)


LABELLED = (("RuntimeWarning", NEVER_AWAITED), ("PytestUnraisableExceptionWarning", UNRAISABLE))


def hits(fil: Filter, warning: tuple[str, str]) -> bool:
    if fil.category not in MATCHES[warning[0]] or fil.module:
        return False
    try:
        return re.compile(fil.message, re.IGNORECASE).match(warning[1]) is not None
    except re.error:
        return False


def hiding(filters: list[Filter]) -> list[tuple[Filter, str]]:
    """The filter that decides each of the two warnings, when that filter ignores it (the last listed wins).
    The unraisable-exception warning only carries a never-awaited coroutine when RuntimeWarning is an error."""
    decided = {label: [f for f in filters if hits(f, warning)] for label, warning in LABELLED}
    out: list[tuple[Filter, str]] = []
    runtime = decided["RuntimeWarning"]
    if runtime and runtime[-1].action == "ignore":
        out.append((runtime[-1], "RuntimeWarning"))
    unraisable = decided["PytestUnraisableExceptionWarning"]
    if runtime and runtime[-1].action == "error" and unraisable and unraisable[-1].action == "ignore":
        out.append((unraisable[-1], "PytestUnraisableExceptionWarning"))
    return out


def config_filters(cfg: PytestConfig) -> list[Filter]:
    """``filterwarnings`` entries, then ``-W`` options of ``addopts`` (pytest applies them last: they win)."""
    filters: list[Filter] = []
    for entry in cfg.lines("filterwarnings"):
        parsed = parse_filter(entry, cfg.where("filterwarnings", entry), escape=False)
        if parsed is not None:
            filters.append(parsed)
    addopts = " ".join(cfg.lines("addopts"))
    try:
        words = shlex.split(addopts)
    except ValueError:
        words = []
    for index, word in enumerate(words):
        spec = None
        if word in ("-W", "--pythonwarnings") and index + 1 < len(words):
            spec = words[index + 1]
        elif word.startswith("-W") and len(word) > 2:
            spec = word[2:]
        elif word.startswith("--pythonwarnings="):
            spec = word.split("=", 1)[1]
        if spec:
            parsed = parse_filter(spec, cfg.where("addopts", spec), escape=True)
            if parsed is not None:
                filters.append(parsed)
    return filters
