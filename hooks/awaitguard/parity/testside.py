"""How the tests run: the Python versions of CI matrices, tox and nox, ``.python-version`` and the local
interpreter. Read line by line (no YAML parser: the hook adds no dependency)."""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from awaitguard.parity.production import Line, from_top, read_text, repo_top

VERSION = re.compile(r"""(?<![\w.])['"]?(3)\.(\d{1,2})(?:\.\d+)?(?:-dev)?['"]?(?![\w.])""")
PY_KEY = re.compile(r"^\s*(?:-\s*)?['\"]?([\w-]*python[\w-]*|py)['\"]?\s*:\s*(.*)$", re.IGNORECASE)


@dataclass
class Tested:
    versions: dict[str, Line] = field(default_factory=dict)  # "3.12" -> the first place that runs tests on it
    unknown: list[Line] = field(default_factory=list)  # a version we cannot read (an expression)
    latest: Line | None = None  # "3.x": whatever is newest when CI runs
    version_files: list[str] = field(default_factory=list)  # python-version-file: of workflows (from the root)

    def add(self, version: str, where: Line) -> None:
        self.versions.setdefault(version, where)


def _yaml_values(lines: list[str], index: int, rest: str) -> tuple[list[str], bool]:
    """The scalar, the inline list, or the block list (``- item`` lines below) of a YAML key."""
    rest = rest.split(" #", 1)[0].strip()
    if rest and rest not in ("|", ">"):
        if rest.startswith("["):
            return [v.strip().strip("'\"") for v in rest.strip("[]").split(",") if v.strip()], True
        return [rest.strip("'\"")], True
    indent = len(lines[index]) - len(lines[index].lstrip())
    items: list[str] = []
    for raw in lines[index + 1 :]:
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(raw) - len(raw.lstrip()) < indent or not stripped.startswith("-"):
            break
        items.append(stripped[1:].split(" #", 1)[0].strip().strip("'\""))
    return items, False


TEST_WORKFLOW = re.compile(r"pytest|\btox\b|\bnox\b|make test|run test|hatch (?:run|test)|coverage run|unittest", re.I)
INLINE = re.compile(r"""[{,]\s*['"]?(?:[\w-]*python[\w-]*|py)['"]?\s*:\s*['"]?(3\.\d{1,2})t?['"]?\s*[,}]""", re.I)


def _workflow(root: Path, rel: str, tested: Tested) -> None:
    """A workflow that runs the tests: its python-version keys, matrix lists and inline matrix entries."""
    text = read_text(root, rel)
    if text is None or not TEST_WORKFLOW.search(text):
        return
    lines = text.splitlines()
    for index, raw in enumerate(lines):
        where = Line(rel, index + 1, raw.strip())
        for found in INLINE.finditer(raw):
            tested.add(found.group(1), where)
        match = PY_KEY.match(raw)
        if match is None:
            if re.search(r"(?:uv python install|UV_PYTHON[=:]|--python[= ])", raw):
                for found in VERSION.finditer(raw):
                    tested.add(f"3.{found.group(2)}", where)
            continue
        key = match.group(1).lower()
        if key.endswith("-file"):  # python-version-file: a path from the repository's top
            named = match.group(2).split(" #", 1)[0].strip().strip("'\"")
            if named and "${{" not in named:
                tested.version_files.append(from_top(root, named))
            continue
        if key in ("python-path",):
            continue
        values, _ = _yaml_values(lines, index, match.group(2))
        for value in values:
            exact = VERSION.fullmatch(value.rstrip("t")) or VERSION.fullmatch(value.replace("python", ""))
            if exact:
                tested.add(f"3.{exact.group(2)}", where)
            elif value in ("3.x", "3", "x"):
                tested.latest = where  # the newest release when the workflow runs
            elif "matrix." in value:
                if "fromJson" in text or "fromJSON" in text:
                    tested.unknown.append(where)  # a matrix computed by another job
            elif "${{" in value or value.startswith("3."):
                tested.unknown.append(where)


def _tox(root: Path, tested: Tested) -> None:
    text = read_text(root, "tox.ini")
    if text is None:
        return
    for number, raw in enumerate(text.splitlines(), 1):
        for match in re.finditer(r"\bpy\{([\d,\s]+)\}|\bpy3(\d{1,2})\b|\bpython3\.(\d{1,2})\b", raw):
            where = Line("tox.ini", number, raw.strip())
            if match.group(1):
                for item in match.group(1).split(","):
                    item = item.strip()
                    if item.startswith("3") and item[1:].isdigit():
                        tested.add(f"3.{item[1:]}", where)
            else:
                tested.add(f"3.{match.group(2) or match.group(3)}", where)


def _nox(root: Path, tested: Tested) -> None:
    text = read_text(root, "noxfile.py")
    if text is None:
        return
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    lists: dict[str, ast.expr] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            lists[stmt.targets[0].id] = stmt.value
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg not in ("python", "pythons"):
                continue
            value = keyword.value
            if isinstance(value, ast.Name) and value.id in lists:
                value = lists[value.id]
            where = Line("noxfile.py", node.lineno, text.splitlines()[node.lineno - 1].strip())
            strings = [value] if isinstance(value, ast.Constant) else getattr(value, "elts", None)
            if strings is None:
                tested.unknown.append(where)
                continue
            for item in strings:
                found = VERSION.fullmatch(str(item.value)) if isinstance(item, ast.Constant) else None
                if found:
                    tested.add(f"3.{found.group(2)}", where)
                else:
                    tested.unknown.append(where)


def workflow_files(root: Path) -> list[str]:
    """GitHub workflows of the project and, in a subproject, of its repository (paths relative to ``root``)."""
    found: list[str] = []
    for base in dict.fromkeys((root.resolve(), repo_top(root))):
        folder = base / ".github" / "workflows"
        if folder.is_dir():
            found.extend(
                from_top(root, os.path.relpath(folder / p.name, repo_top(root)))
                for p in sorted(folder.iterdir())
                if p.suffix in (".yml", ".yaml")
            )
    return found


def _pinned(root: Path, rel: str, tested: Tested) -> None:
    text = read_text(root, rel)
    for number, raw in enumerate((text or "").splitlines(), 1):
        found = VERSION.fullmatch(raw.strip())
        if found:
            tested.add(f"3.{found.group(2)}", Line(rel, number, raw.strip()))


def tested_versions(root: Path, local: tuple[str, str] | None) -> Tested:
    """Every Python version the tests run on: CI, tox, nox, ``.python-version`` and ``local`` (version, how)."""
    tested = Tested()
    for rel in workflow_files(root):
        _workflow(root, rel, tested)
    _tox(root, tested)
    _nox(root, tested)
    for rel in dict.fromkeys((".python-version", from_top(root, ".python-version"), *tested.version_files)):
        _pinned(root, rel, tested)
    if local is not None and not tested.versions:
        tested.add(local[0], Line("", 0, local[1]))
    return tested


def local_python(root: Path, configured: str | None, running: tuple[int, int] | None) -> tuple[str, str] | None:
    """The interpreter the tests run with here: ``[tool.awaitguard] python``'s or the project's virtualenv
    (read from its ``pyvenv.cfg``), else ``running`` (the one running awaitguard, outside pre-commit)."""
    candidates = []
    if configured:
        exe = Path(configured) if Path(configured).is_absolute() else root / configured
        candidates.append(exe.parent.parent / "pyvenv.cfg")
    candidates.extend(root / name / "pyvenv.cfg" for name in (".venv", "venv"))
    for cfg in candidates:
        try:
            text = cfg.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        match = re.search(r"^version(?:_info)?\s*=\s*3\.(\d{1,2})", text, re.MULTILINE)
        if match:
            return f"3.{match.group(1)}", f"the virtualenv at {cfg.parent.name}"
    if running is not None:
        return f"{running[0]}.{running[1]}", "the interpreter running awaitguard"
    return None
