"""How production runs: the Dockerfile's final stage, a Procfile, runtime.txt, and the commands in them."""

from __future__ import annotations

import functools
import json
import os
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


class ParityError(Exception):
    """One line for the user: a configured file that is missing or cannot be read."""


@dataclass(frozen=True)
class Line:
    """A line of a project file: ``path`` relative to the root, 1-based ``line``, its text."""

    path: str
    line: int
    text: str


@dataclass
class Production:
    python: list[tuple[str, Line]] = field(default_factory=list)  # ("3.12", where it is said)
    commands: list[Line] = field(default_factory=list)  # CMD/ENTRYPOINT, Procfile processes
    env: dict[str, tuple[str, Line]] = field(default_factory=dict)  # ENV of the final stage
    installs: list[Line] = field(default_factory=list)  # RUN lines of the final stage (pip install ...)
    sources: list[str] = field(default_factory=list)  # the files read


@functools.lru_cache(maxsize=8)
def repo_top(root: Path) -> Path:
    """The top of the git work tree holding ``root`` (its CI and ``.python-version`` may sit there), else ``root``."""
    resolved = root.resolve()
    for candidate in (resolved, *resolved.parents):
        if (candidate / ".git").exists():
            return candidate
    return resolved


def from_top(root: Path, rel: str) -> str:
    """``rel`` (relative to the repository's top) as seen from ``root``: ``../.github/...`` in a subproject."""
    return os.path.relpath(repo_top(root) / rel, root.resolve()).replace(os.sep, "/")


def read_text(root: Path, rel: str) -> str | None:
    """A file of the repository as text, or None when there is none; never reads outside the repository."""
    path = root / rel
    try:
        if not path.resolve().is_relative_to(repo_top(root)) or not path.is_file():
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Dockerfile lines with ``\\`` continuations joined and comments dropped, with their first line number."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        out.append((start, " ".join(p.strip() for p in pending if p.strip())))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out


_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")
PY_IN_IMAGE = re.compile(r"(?:^|[/:_-])python:?(3)\.(\d{1,2})(?![\d])", re.IGNORECASE)


def _expand(value: str, args: dict[str, str]) -> str | None:
    unknown = False

    def sub(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(3)
        if name in args:
            return args[name]
        if match.group(2) is not None:
            return match.group(2)
        unknown = True
        return ""

    expanded = _VAR.sub(sub, value)
    return None if unknown else expanded


def image_python(image: str) -> str | None:
    """``3.12`` for ``python:3.12-slim``, ``ghcr.io/astral-sh/uv:python3.12-bookworm``; else None."""
    match = PY_IN_IMAGE.search(image)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _kv(rest: str) -> list[tuple[str, str]]:
    """``ENV A=1 B=2`` or the legacy ``ENV A 1``."""
    try:
        words = shlex.split(rest)
    except ValueError:
        return []
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))] if len(words) > 1 else []
    return [tuple(w.split("=", 1)) for w in words if "=" in w]  # type: ignore[misc]


def _command(rest: str) -> str:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            parts = json.loads(rest)
        except ValueError:
            return rest
        if isinstance(parts, list):
            return " ".join(str(p) for p in parts)
    return rest


@dataclass
class _Stage:
    name: str
    python: tuple[str, Line] | None
    env: dict[str, tuple[str, Line]]
    commands: dict[str, Line]
    installs: list[Line]
    copies: list[tuple[str, str]] = field(default_factory=list)  # (absolute destination, source in the context)
    workdir: str = "/"


def read_dockerfile(root: Path, rel: str, prod: Production) -> None:
    """The final stage: its base image's Python (through named stages and ARG defaults), ENV, CMD, ENTRYPOINT."""
    text = read_text(root, rel)
    if text is None:
        raise ParityError(f"{rel}: no such file")
    prod.sources.append(rel)
    args: dict[str, str] = {}
    stages: dict[str, _Stage] = {}
    stage: _Stage | None = None
    for number, content in logical_lines(text):
        instruction, _, rest = content.partition(" ")
        instruction = instruction.upper()
        where = Line(rel, number, content)
        if instruction == "ARG":
            for key, value in _kv(rest) if "=" in rest else []:
                args[key] = _expand(value, args) or value
        elif instruction == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                continue
            image = _expand(words[0], args) or words[0]
            name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
            parent = stages.get(image.lower())
            if parent is not None:
                stage = _Stage(name, parent.python, dict(parent.env), dict(parent.commands), list(parent.installs))
                stage.copies, stage.workdir = list(parent.copies), parent.workdir
            else:
                version = image_python(image) if _expand(words[0], args) is not None else None
                stage = _Stage(name, (version, where) if version else None, {}, {}, [])
            if name:
                stages[name] = stage
        elif stage is None:
            continue
        elif instruction == "ENV":
            for key, value in _kv(rest):
                stage.env[key] = (value, where)
        elif instruction in ("CMD", "ENTRYPOINT"):
            stage.commands[instruction] = Line(rel, number, _command(rest))
        elif instruction == "RUN":
            stage.installs.append(where)
        elif instruction == "WORKDIR":
            stage.workdir = posixpath.join(stage.workdir, _expand(rest.strip(), _values(args, stage)) or rest.strip())
        elif instruction in ("COPY", "ADD") and "--from" not in rest:
            _copy(rest, args, stage)
    if stage is None:
        return
    if stage.python is not None:
        prod.python.append(stage.python)
    prod.env.update(stage.env)
    prod.installs.extend(stage.installs)
    entry, cmd = stage.commands.get("ENTRYPOINT"), stage.commands.get("CMD")
    if entry is not None and cmd is not None:
        prod.commands.append(Line(rel, entry.line, f"{entry.text} {cmd.text}"))
    elif entry is not None or cmd is not None:
        prod.commands.append(entry or cmd)  # type: ignore[arg-type]
    for command in list(prod.commands):
        _follow_script(root, rel, command.text, stage, prod)


def _values(args: dict[str, str], stage: _Stage) -> dict[str, str]:
    return {**args, **{key: value for key, (value, _) in stage.env.items()}}


def _copy(rest: str, args: dict[str, str], stage: _Stage) -> None:
    """``COPY [--chown=...] src... dest`` (or its JSON form): where each source lands in the image."""
    text = rest.strip()
    try:
        words = json.loads(text) if text.startswith("[") else shlex.split(text)
    except ValueError:
        return
    words = [str(w) for w in words if not str(w).startswith("--")]
    if len(words) < 2:
        return
    values = _values(args, stage)
    dest = _expand(words[-1], values) or words[-1]
    dest = posixpath.join(stage.workdir, dest)
    sources = words[:-1]
    for source in sources:
        if words[-1].endswith("/") or len(sources) > 1:
            stage.copies.append((posixpath.join(dest, posixpath.basename(source.rstrip("/"))), source))
        stage.copies.append((posixpath.normpath(dest), source))


_SCRIPT_WORDS = re.compile(
    r"\b(?:uvicorn|gunicorn|hypercorn|granian|fastapi|litestar|PYTHONASYNCIODEBUG|PYTHONDEVMODE)\b|-X\s*dev"
)


def _follow_script(root: Path, dockerfile: str, command: str, stage: _Stage, prod: Production) -> None:
    """A shell script the command runs, copied into the image from the project: its server lines count too."""
    try:
        words = shlex.split(command)
    except ValueError:
        return
    for word in words:
        if not (word.startswith(("/", "./")) or word.endswith(".sh")) or word.endswith(".py"):
            continue
        path = posixpath.normpath(posixpath.join(stage.workdir, word))
        for dest, source in reversed(stage.copies):
            if path == dest or ("/" not in word and posixpath.basename(dest) == word):  # a name found on PATH
                found = source
            elif path.startswith(dest.rstrip("/") + "/"):
                found = posixpath.join(source, path[len(dest.rstrip("/")) + 1 :])
            else:
                continue
            for base in dict.fromkeys((posixpath.dirname(dockerfile), "")):
                rel = posixpath.normpath(posixpath.join(base, found))
                text = read_text(root, rel)
                if text is None or rel in prod.sources:
                    continue
                prod.sources.append(rel)
                for number, raw in enumerate(text.splitlines(), 1):
                    line = raw.strip()
                    if line and not line.startswith("#") and _SCRIPT_WORDS.search(line):
                        prod.commands.append(Line(rel, number, line))
                return


def read_procfile(root: Path, rel: str, prod: Production) -> None:
    text = read_text(root, rel)
    if text is None:
        raise ParityError(f"{rel}: no such file")
    prod.sources.append(rel)
    for number, raw in enumerate(text.splitlines(), 1):
        name, sep, command = raw.partition(":")
        if sep and re.fullmatch(r"[\w-]+", name.strip()) and command.strip():
            prod.commands.append(Line(rel, number, command.strip()))


def read_runtime_txt(root: Path, rel: str, prod: Production) -> None:
    text = read_text(root, rel)
    if text is None:
        return
    prod.sources.append(rel)
    for number, raw in enumerate(text.splitlines(), 1):
        match = re.fullmatch(r"\s*python-(3)\.(\d{1,2})(?:\.\d+)?\s*", raw)
        if match:
            prod.python.append((f"{match.group(1)}.{match.group(2)}", Line(rel, number, raw.strip())))


DOCKERFILES = ("Dockerfile", "Containerfile", "docker/Dockerfile")


def production(root: Path, configured: list[str]) -> Production:
    """What the configured files say (``[tool.awaitguard.parity] production``), else the usual ones at the root."""
    prod = Production()
    if configured:
        for rel in configured:
            name = Path(rel).name
            if name.startswith("Procfile"):
                read_procfile(root, rel, prod)
            elif name == "runtime.txt":
                if read_text(root, rel) is None:
                    raise ParityError(f"{rel}: no such file")
                read_runtime_txt(root, rel, prod)
            else:
                read_dockerfile(root, rel, prod)
        return prod
    for name in DOCKERFILES:
        if (root / name).is_file():
            read_dockerfile(root, name, prod)
            break
    if (root / "Procfile").is_file():
        read_procfile(root, "Procfile", prod)
    read_runtime_txt(root, "runtime.txt", prod)
    return prod
