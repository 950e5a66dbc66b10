"""Every module imports only the layers STYLE.md's map puts above it (read with ast, not imported)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "hooks" / "awaitguard"

CORE = {
    "policy",
    "suppress",
    "layout",
    "model",
    "newer",
    "newer_strings",
    "uses",
    "source",
    "refs",
    "facts",
    "libraries",
    "index",
    "values",
    "resolve",
    "findings",
    "rules",
    "config",
    "gitscope",
    "tree",
    "engine",
    "cache",
    "parsing",
    "workshare",
    "judge",
    "prefilter",
    "parallel",
    "impact",
}
ALLOWED: dict[str, set[str]] = {
    "suppress": set(),  # the one reader of suppression comments, for every hook
    "layout": set(),  # where code and tests live (source roots, test files), for every hook
    "model": {"suppress"},
    "newer_strings": set(),
    "newer": {"newer_strings"},
    "source": {"newer"},
    "findings": {"config", "tree"},  # config and tree: the code filter (select/ignore/per-file-ignores)
    "tree": set(),
    "config": set(),
    "gitscope": {"model", "tree"},  # tree: a leaf (what a project file is), shared with the walk without git
    "refs": {"model"},
    "uses": {"refs"},
    "facts": {"model", "refs", "uses", "source", "suppress"},
    "libraries": {"model", "facts", "source"},
    "workshare": set(),
    "cache": {"model", "__init__"},
    "parsing": {"model", "facts", "source", "workshare"},
    "index": {"model", "refs", "libraries", "findings", "tree", "cache", "parsing", "workshare"},
    "values": {"model"},
    "resolve": {"model", "refs", "index", "values"},
    "rules": {"model", "resolve", "values", "findings", "rules"},
    "judge": {"model", "resolve", "findings", "rules"},
    "prefilter": {"model", "index", "resolve"},
    "parallel": {"model", "index", "resolve", "findings", "judge", "workshare"},
    "impact": {"model", "index", "resolve", "values", "findings", "rules", "judge"},
    "engine": {
        "config",
        "layout",
        "findings",
        "index",
        "cache",
        "libraries",
        "model",
        "newer",
        "resolve",
        "tree",
        "judge",
        "prefilter",
        "parallel",
        "impact",
        "policy",
    },
    # the project's policies: below the engine, above the rules (rules/policy.py holds their codes)
    "policy": {"config", "findings", "index", "model", "refs", "resolve", "rules", "source", "tree", "values"},
    "report": {"findings", "rules", "model", "report", "__init__"},
    # production incidents: reads logs, maps them to the tree, re-checks them through the engine
    "incidents": {"config", "engine", "findings", "gitscope", "index", "source", "tree", "incidents"},
    # `awaitguard policy --show/--explain`: the policy, and what the scan knows about a name
    "explain": {"config", "engine", "gitscope", "index", "policy", "resolve", "rules", "tree", "values"},
    "cli": {
        "__init__",
        "explain",
        "config",
        "engine",
        "gitscope",
        "libraries",
        "report",
        "rules",
        "tree",
        "mypy_plugin",
        "pytest_plugin",
        "incidents",
        "parity",
    },
    "__init__": {"config", "engine", "tree", "findings", "rules"},
    "__main__": {"cli"},
    "mypy": {"mypy_plugin"},
    "mypy_plugin": CORE | {"__init__", "report", "mypy_plugin"},
    "pytest_plugin": CORE | {"__init__", "report", "pytest_plugin"},
    "parity": {"__init__", "config", "findings", "suppress", "tree", "parity"},
}
THIRD_PARTY = {"mypy": {"mypy_plugin", "mypy"}, "pytest": {"pytest_plugin"}, "typeguard": {"pytest_plugin"}}


def layer_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported(tree: ast.Module, path: Path) -> set[str]:
    """First components of awaitguard imports (`awaitguard.x.y` -> `x`; `awaitguard` -> `__init__`)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path}: relative import; use absolute `awaitguard.` imports")
            module = node.module or ""
            names = [f"{module}.{a.name}" if module == "awaitguard" else module for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "awaitguard":
                sub = parts[1] if len(parts) > 1 else ""
                is_module = bool(sub) and ((PACKAGE / sub).is_dir() or (PACKAGE / f"{sub}.py").is_file())
                out.add(sub if is_module else "__init__")
            elif parts[0] in THIRD_PARTY:
                out.add(f"third-party:{parts[0]}")
    return out


def test_layers_follow_the_map() -> None:
    problems: list[str] = []
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 15
    for path in modules:
        layer = layer_of(path)
        assert layer in ALLOWED, f"{path}: a new module needs a row in ALLOWED (and in STYLE.md's map)"
        for name in imported(ast.parse(path.read_bytes()), path):
            if name.startswith("third-party:"):
                package = name.split(":", 1)[1]
                if layer not in THIRD_PARTY[package]:
                    problems.append(f"{path.relative_to(PACKAGE)} imports {package}")
            elif name != layer and name not in ALLOWED[layer]:
                problems.append(f"{path.relative_to(PACKAGE)} imports awaitguard.{name}")
    assert problems == []


def test_scan_path_does_not_import_mypy_or_pytest() -> None:
    import subprocess
    import sys

    code = (
        "import sys, awaitguard.cli, awaitguard.engine, awaitguard.report, awaitguard.gitscope;"
        "print(sorted(m for m in ('mypy', 'pytest', 'typeguard') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
