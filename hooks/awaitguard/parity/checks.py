"""The comparisons: each difference between production and the tests becomes one finding (AG3xx)."""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from awaitguard.findings import Finding, Related
from awaitguard.parity.code import CodeFacts, mentions
from awaitguard.parity.production import Line, Production, read_text
from awaitguard.parity.pytestcfg import Filter, PytestConfig, config_filters, hiding, parse_filter
from awaitguard.parity.testside import Tested
from awaitguard.rules.parity import (
    AG301,
    AG302,
    AG311,
    AG321,
    AG331,
    AG341,
    hidden_args,
    loop_how,
    setting,
    tested_note,
    uvloop_note,
    versions_shown,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def _finding(where: Line, code: str, args: dict[str, str], related: list[tuple[Line, str]] = ()) -> Finding:  # type: ignore[assignment]
    rel = [Related(r.path, r.line, 0, note) for r, note in related if r.path]
    return Finding.make(where.path, where.line, 0, code, args, rel)


def _key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def _how(where: Line) -> str:
    return setting(text=where.text, path=where.path, line=where.line)


def python_versions(prod: Production, tested: Tested, pyproject: dict[str, Any]) -> Iterator[Finding]:
    spec = pyproject.get("project", {}).get("requires-python") if isinstance(pyproject.get("project"), dict) else None
    seen: set[str] = set()
    for version, where in prod.python:
        if version in seen:
            continue
        seen.add(version)
        if isinstance(spec, str) and not allows(spec, version):
            yield _finding(where, AG302.code, {"prod": version, "how": _how(where), "spec": spec})
            continue
        if version in tested.versions or tested.unknown or not tested.versions:
            continue
        if tested.latest is not None and _key(version) > max(_key(v) for v in tested.versions):
            continue  # perhaps the "3.x" of a workflow
        places: dict[Line, list[str]] = {}
        for v, w in sorted(tested.versions.items(), key=lambda item: _key(item[0])):
            places.setdefault(w, []).append(v)
        related = [(w, tested_note(versions=vs)) for w, vs in places.items()]
        local = [w.text for w in tested.versions.values() if not w.path]
        shown = versions_shown(versions=sorted(tested.versions, key=_key), local=local[0] if local else "")
        yield _finding(where, AG301.code, {"prod": version, "how": _how(where), "tested": shown}, related)


def allows(spec: str, version: str) -> bool:
    """Whether ``X.Y`` (any patch release) satisfies a requires-python specifier set; unknown clauses allow."""
    have = _key(version)
    for clause in spec.split(","):
        match = re.fullmatch(r"\s*(~=|==|!=|>=|<=|>|<)\s*(\d+)(?:\.(\d+|\*))?(?:\.(\d+|\*))?\s*", clause)
        if match is None:
            continue
        op, major, minor = match.group(1), int(match.group(2)), match.group(3)
        if minor is None or minor == "*":
            want = (major, 0 if op in (">=", ">", "~=") else 99)
            if op in ("==", "!="):
                if (have[0] == major) != (op == "=="):
                    return False
                continue
        else:
            want = (major, int(minor))
        patch = match.group(4)
        if op == ">=" and have < want:
            return False
        if op == ">" and (have < want or (have == want and patch is None)):
            return False
        if op == "<" and (have >= want if patch is None else have > want):
            return False
        if op == "<=" and have > want:
            return False
        if op == "==" and minor not in (None, "*") and have != want:
            return False
        if op == "!=" and patch is None and minor not in (None, "*") and have == want and ".*" in clause:
            return False
        if op == "~=" and (have < want or have[0] != want[0]):
            return False
    return True


# --- the event loop ---------------------------------------------------------------------------------------

_SERVERS = ("uvicorn", "gunicorn", "hypercorn", "granian", "fastapi")


def command_loop(command: str) -> str | None:
    """The loop a server command runs: "uvloop", "auto" (uvloop when it is installed), or None (asyncio's)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    names = [Path(w).name for w in words]
    option = _option(words, ("--loop",)) or ""
    if "uvicorn" in names:
        return "auto" if not option or option == "auto" else ("uvloop" if option == "uvloop" else None)
    if "granian" in names:
        return "auto" if not option or option == "auto" else ("uvloop" if option == "uvloop" else None)
    if ("fastapi" in names or "litestar" in names) and ("run" in words or "dev" in words):
        return "auto"  # uvicorn (or granian, through litestar-granian) with its default loop
    if "gunicorn" in names:
        worker = _option(words, ("-k", "--worker-class")) or ""
        if worker.endswith("UvicornWorker"):
            return "auto"
        return None
    if "hypercorn" in names:
        worker = _option(words, ("-k", "--worker-class")) or ""
        return "uvloop" if worker == "uvloop" else None
    return None


def _option(words: list[str], names: tuple[str, ...]) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
            if len(name) == 2 and word.startswith(name) and len(word) > 2:
                return word[2:]
    return None


_UVLOOP_DEP = re.compile(
    r"""(?<![\w-])(uvloop|uvicorn\s*\[[^\]]*\bstandard\b[^\]]*\]|[\w.-]+\s*\[[^\]]*\buvloop\b[^\]]*\])""", re.I
)


def uvloop_installed(root: Path, prod: Production, pyproject: dict[str, Any]) -> Line | None:
    """Where production's dependencies bring uvloop: pyproject's dependencies, requirements files, pip in the image."""
    for line in prod.installs:
        if re.search(r"\b(pip|uv|poetry|pdm)\b", line.text) and _UVLOOP_DEP.search(line.text):
            return line
        for req in re.findall(r"-r\s+(\S+)", line.text):
            found = mentions(root, req.lstrip("./"), _UVLOOP_DEP.pattern)
            if found is not None:
                return found
    project = pyproject.get("project")
    deps = project.get("dependencies", []) if isinstance(project, dict) else []
    poetry = pyproject.get("tool", {}).get("poetry", {}) if isinstance(pyproject.get("tool"), dict) else {}
    names = [str(d) for d in deps] if isinstance(deps, list) else []
    if isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict):
        for name, value in poetry["dependencies"].items():
            extras = value.get("extras", []) if isinstance(value, dict) else []
            names.append(f"{name}[{','.join(extras)}]" if extras else str(name))
    for dep in names:
        if _UVLOOP_DEP.match(dep.strip()):
            return mentions(root, "pyproject.toml", re.escape(dep.split("[")[0].split(";")[0].strip())) or Line(
                "pyproject.toml", 0, dep
            )
    for req in ("requirements.txt", "requirements/base.txt", "requirements/production.txt", "requirements/prod.txt"):
        found = mentions(root, req, r"^\s*" + _UVLOOP_DEP.pattern)
        if found is not None:
            return found
    return None


def event_loop(
    root: Path, prod: Production, code: CodeFacts, pyproject: dict[str, Any], tests_on_uvloop: bool
) -> Iterator[Finding]:
    if tests_on_uvloop:
        return
    for command in prod.commands:
        loop = command_loop(command.text)
        if loop == "uvloop":
            yield _finding(command, AG311.code, {"how": loop_how(command=command.text)})
        elif loop == "auto":
            installed = uvloop_installed(root, prod, pyproject)
            if installed is not None:
                how = loop_how(command=command.text, installed=True)
                yield _finding(command, AG311.code, {"how": how}, [(installed, uvloop_note())])
    installed = uvloop_installed(root, prod, pyproject) if code.server_runs else None
    if installed is not None:
        for where, name in code.server_runs:
            yield _finding(where, AG311.code, {"how": loop_how(server=name)}, [(installed, uvloop_note())])
    said: set[str] = set()
    for where, how in sorted(code.uvloop, key=lambda item: (item[0].path, item[0].line)):
        if where.path not in said:  # one difference per file (a version-dependent branch repeats it)
            said.add(where.path)
            yield _finding(where, AG311.code, {"how": how})


def tests_use_uvloop(root: Path, code: CodeFacts, cfg: PytestConfig, tested_files: list[str]) -> bool:
    if code.test_uvloop or ("uvloop" in cfg.text and cfg.path != "pyproject.toml"):
        return True
    if cfg.path == "pyproject.toml" and any("uvloop" in " ".join(cfg.lines(k)) for k in cfg.options):
        return True
    return any(mentions(root, rel, r"uvloop") for rel in tested_files)


# --- warnings, debug mode, pytest-asyncio -------------------------------------------------------------------

_PYTHONWARNINGS = re.compile(r"""PYTHONWARNINGS\s*[=:]\s*['"]?([^'"\s#]+)""")


def environment_filters(root: Path, files: list[str]) -> list[Filter]:
    """``PYTHONWARNINGS`` set for the tests (tox ``setenv``, a workflow's ``env``, pytest-env's ``env``):
    the interpreter's filters, under every filter pytest adds (a literal message, as ``-W`` takes it)."""
    found: list[Filter] = []
    for rel in files:
        text = read_text(root, rel) or ""
        for number, raw in enumerate(text.splitlines(), 1):
            for match in _PYTHONWARNINGS.finditer(raw):
                for spec in match.group(1).split(","):
                    parsed = parse_filter(spec, Line(rel, number, raw.strip()), escape=True)
                    if parsed is not None:
                        found.append(parsed)
    return found


def warnings_hidden(cfg: PytestConfig, code: CodeFacts, root: Path, runners: list[str]) -> Iterator[Finding]:
    config = config_filters(cfg)
    files = [*runners, *([cfg.path] if cfg.path and cfg.path not in runners else [])]
    for fil, label in hiding([*environment_filters(root, files), *config]):
        in_environment = fil.where.path != cfg.path or fil not in config
        args = hidden_args(where="environment" if in_environment else "config", spec=fil.spec, hidden=label)
        yield _finding(fil.where, AG321.code, args)
    for fil, at_import in code.test_filters:
        # pytest applies its configured filters for each test on top of those set at import time; filters set
        # in a fixture or a test, and filterwarnings marks, are applied on top of the configured ones
        ordered = [fil, *config] if at_import else [*config, fil]
        for deciding, label in hiding(ordered):
            if deciding is not fil:
                continue
            args = hidden_args(where="code", spec=fil.where.text.rstrip(","), hidden=label)
            yield _finding(fil.where, AG321.code, args)
            break


_DEBUG_ENV = ("PYTHONASYNCIODEBUG", "PYTHONDEVMODE")


def production_debug(prod: Production, code: CodeFacts) -> list[tuple[Line, str]]:
    found: list[tuple[Line, str]] = []
    for name in _DEBUG_ENV:
        if name in prod.env and prod.env[name][0]:
            value, where = prod.env[name]
            found.append((where, f"`{name}={value}`"))
    for command in prod.commands:
        match = re.search(r"\b(PYTHONASYNCIODEBUG|PYTHONDEVMODE)=(\S+)|(?<!\S)-X\s*dev\b", command.text)
        if match:
            found.append((command, f"`{match.group(0)}`"))
    found.extend(code.debug)
    return found


def debug_mode(
    prod: Production, code: CodeFacts, root: Path, tested_files: list[str], cfg: PytestConfig
) -> Iterator[Finding]:
    if code.test_debug:
        return
    pattern = r"PYTHONASYNCIODEBUG|PYTHONDEVMODE|-X\s*dev|asyncio_debug"
    if re.search(pattern, cfg.text) or any(mentions(root, rel, pattern) for rel in tested_files):
        return
    for where, how in production_debug(prod, code):
        yield _finding(where, AG331.code, {"how": how})


_OTHER_RUNNERS = re.compile(
    r"pytest[-_](aiohttp|tornasync|tornado|trio|twisted|asyncio-cooperative|jupyter|sanic)|trio_mode|anyio", re.I
)


def strict_asyncio(root: Path, cfg: PytestConfig, tested_files: list[str]) -> bool:
    """pytest-asyncio in strict mode, and no other plugin that could run async tests."""
    mode = cfg.options.get("asyncio_mode", ("", 0))[0] or "strict"
    if str(mode).strip() != "strict" or "asyncio-mode" in " ".join(cfg.lines("addopts")):
        return False
    files = [*tested_files, "pyproject.toml", "setup.cfg", "setup.py", "requirements-dev.txt", "requirements/test.txt"]
    if not cfg.options.get("asyncio_mode") and not any(mentions(root, rel, r"pytest[-_]asyncio") for rel in files):
        return False
    return not any(mentions(root, rel, _OTHER_RUNNERS.pattern) for rel in files)


def unmarked_async_tests(code: CodeFacts, strict: bool) -> Iterator[Finding]:
    """Only in a suite that marks some tests for pytest-asyncio, in strict mode, with nothing else to run them."""
    if not strict or not code.asyncio_marks or code.collection_hooks or code.anyio_or_trio:
        return
    for where, name, marked in code.async_tests:
        if not marked:
            yield _finding(where, AG341.code, {"name": name})


def load_pyproject(root: Path) -> dict[str, Any]:
    text = read_text(root, "pyproject.toml")
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
