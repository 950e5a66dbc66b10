"""Every module imports only the layers STYLE.md's map puts above it (read with ast, not imported)."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from awaitguard import facts

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
    "containers",
    "refs",
    "overloads",
    "facts",
    "rewrites",
    "conditions",
    "exprrefs",
    "resultuse",
    "hotlines",
    "walking",
    "definitions",
    "assigned",
    "statements",
    "expressions",
    "libraries",
    "index",
    "values",
    "misuse",
    "resolve",
    "known",
    "patching",
    "resolving",
    "lookup",
    "lineage",
    "members",
    "hierarchy",
    "declared",
    "calls",
    "callsites",
    "inert",
    "callers",
    "stores",
    "mixins",
    "findings",
    "rules",
    "config",
    "gitscope",
    "gitproc",
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
    # tree: a leaf (what a project file is), shared with the walk without git; config: find_root outside git
    "gitscope": {"model", "tree", "config", "gitproc"},
    "gitproc": set(),  # how git runs (environment, argv, errors) and blobs are read: every git process
    "overloads": {"model"},  # which of a stub's `@overload`s a call gets: the call step, the choice
    "refs": {"model", "overloads", "containers"},
    "containers": set(),  # declared containers of one type: how an item is reached (`list[Conn]`, `dict[str, Conn]`)
    "uses": {"refs"},
    # the facts walk and its parts (walking.py declares what the parts ask of each other)
    "conditions": {"refs"},  # a stub's sys.version_info/sys.platform branches, decided
    "exprrefs": {"model", "refs", "containers"},
    "resultuse": {"uses"},
    "hotlines": {"refs"},  # the hot-line gating the expression search asks
    "walking": {"model", "conditions", "hotlines"},
    "definitions": {"model", "refs", "exprrefs", "walking", "overloads"},
    # a call bound to a name, then used as its result (also through local aliases)
    "assigned": {"model", "refs", "uses", "exprrefs", "resultuse", "walking"},
    "statements": {"model", "refs", "uses", "exprrefs", "assigned", "conditions", "walking"},
    "expressions": {"model", "refs", "uses", "exprrefs", "walking"},
    "rewrites": {"model", "refs"},  # classes made sync-or-async at import (pyrogram's sync.py)
    "facts": {
        "model",
        "refs",
        "uses",
        "source",
        "suppress",
        "conditions",
        "hotlines",
        "walking",
        "definitions",
        "statements",
        "expressions",
        "rewrites",
        "layout",  # test code: where an attribute assigned a mock is a double
    },
    "libraries": {"model", "facts", "source"},
    "workshare": set(),
    "cache": {"model", "__init__"},
    "parsing": {"model", "facts", "source", "workshare"},
    "index": {"model", "refs", "libraries", "findings", "tree", "cache", "parsing", "workshare"},
    "values": {"model"},
    "misuse": {"values"},  # what is wrong with awaiting, entering or iterating a value, as data
    # the resolver and its parts (resolving.py declares what the parts ask of each other)
    "known": set(),  # tables of well-known external names
    "patching": {"layout"},  # the doubles policy: a patch call's record and the one verdict, for every hook
    "resolving": {"model", "index", "values", "overloads"},
    "lookup": {"model", "refs", "known", "resolving", "values"},
    "lineage": {"model", "known", "resolving", "values", "tree"},  # C3 linearization, `super()` members, subclasses
    "members": {"model", "known", "lineage", "resolving", "values"},
    "hierarchy": {"model", "lineage", "resolving", "values"},  # overrides and classes rewritten at import
    "declared": {"model", "refs", "containers", "resolving", "values"},
    "calls": {"model", "known", "members", "declared", "containers", "resolving", "values", "overloads"},
    "callsites": {"refs", "resolving", "values", "tree"},  # where a name occurs, for the callers' search
    # an unannotated parameter, from its callers
    "callers": {"model", "refs", "layout", "resolving", "values", "tree", "callsites", "inert"},
    "inert": {"refs", "resolving", "callsites"},  # a class handed on, and only read where it goes
    "mixins": {
        "lineage",
        "resolving",
        "values",
    },  # a parameter given `self` of several mixins: the class combining them
    "stores": {
        "model",
        "refs",
        "layout",
        "lineage",
        "resolving",
        "values",
        "callers",
        "callsites",
    },  # items of a bare container, from its stores
    # the parameter a call's argument binds, its declaration; what a spawner's body hands on (``refs``)
    "params": {"model", "refs", "resolving", "values", "overloads"},
    "resolve": {
        "model",
        "refs",
        "index",
        "values",
        "known",
        "resolving",
        "lookup",
        "members",
        "hierarchy",
        "declared",
        "calls",
        "callers",
        "stores",
        "mixins",
        "params",
        "patching",
    },
    "rules": {"model", "resolve", "values", "misuse", "findings", "rules", "patching"},
    "judge": {"model", "resolve", "findings", "rules"},
    "prefilter": {"model", "index", "known", "layout"},
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
        "known",
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
    # rules: the code of the static rule that re-checks each kind of failure
    "incidents": {"config", "engine", "findings", "gitscope", "index", "rules", "source", "tree", "incidents"},
    # `awaitguard policy --show/--explain`: the policy, and what the scan knows about a name
    "explain": {"config", "engine", "gitscope", "index", "model", "policy", "resolve", "rules", "tree", "values"},
    "cli": {
        "__init__",
        "explain",
        "config",
        "engine",
        "findings",  # the result a scan returns (a commit changing no Python file makes an empty one)
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
    "pytest_plugin": CORE | {"__init__", "report", "pytest_plugin", "incidents"},
    # the parity hook: its codes are in the registry (rules/parity.py), its output is the reporters'
    "parity": {"__init__", "config", "findings", "report", "rules", "suppress", "tree", "parity"},
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


# -- rule families stand alone -------------------------------------------------------------------
RULES = PACKAGE / "rules"
RULE_SHARED = {"_base"}  # what every family may use; ``__init__`` (the registry) and ``_docs`` import the families


def rule_families() -> dict[str, list[Path]]:
    """Each family's modules: ``rules/<family>.py``, or every module of the package ``rules/<family>/``."""
    families = {p.stem: [p] for p in RULES.glob("*.py") if not p.stem.startswith("_")}
    for package in RULES.iterdir():
        if package.is_dir() and (package / "__init__.py").is_file():
            families[package.name] = sorted(package.rglob("*.py"))
    return dict(sorted(families.items()))


def rules_imported(path: Path) -> set[str]:
    """Modules of ``rules/`` that ``path`` imports (`awaitguard.rules.x` and `awaitguard.rules.x.y` -> `x`; the
    package -> `__init__`)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [
                f"{node.module}.{a.name}" if node.module == "awaitguard.rules" else node.module for a in node.names
            ]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["awaitguard", "rules"]:
                sub = parts[2] if len(parts) > 2 else ""
                known = (RULES / f"{sub}.py").is_file() or (RULES / sub / "__init__.py").is_file()
                out.add(sub if sub and known else "__init__")
    return out


def test_no_rule_family_imports_another() -> None:
    families = rule_families()
    assert {"awaits", "doubles", "dropped", "missing"} <= set(families)
    problems = [
        f"{path.relative_to(RULES).as_posix()} imports rules.{name}"
        for family, paths in families.items()
        for path in paths
        for name in sorted(rules_imported(path) - RULE_SHARED - {family})
    ]
    assert problems == []


def test_rule_family_check_sees_a_family_importing_another(tmp_path: Path) -> None:
    """The check above can fail: the import forms it must see are found, a family package's modules included."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from awaitguard.rules import dropped\n"
        "from awaitguard.rules.awaits import check\n"
        "import awaitguard.rules.missing\n"
        "from awaitguard.rules._base import RuleMeta\n"
        "from awaitguard.rules import CODES\n"
    )
    assert rules_imported(sample) == {"dropped", "awaits", "missing", "_base", "__init__"}
    sample.write_text("from awaitguard.rules.awaits.typed import await_words\nimport awaitguard.rules.awaits.typed\n")
    assert rules_imported(sample) == {"awaits"}


# -- rule codes live in rules/ (issue 17, items 1 and 4) ------------------------------------------
CODE = re.compile(r"AG\d\d\d")


def code_literals(source: bytes) -> list[str]:
    """``line: literal`` for each string or bytes literal of ``source`` that names a rule code, f-strings'
    text included. Docstrings are prose and comments are not literals: neither is counted."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and id(node) not in docstrings:
            text = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
            if CODE.search(text):
                found.append(f"{node.lineno}: {text!r}")
    return sorted(found, key=lambda item: int(item.partition(":")[0]))


def code_literals_outside_rules(package: Path) -> list[str]:
    """Rule-code literals in the modules of ``package`` outside its ``rules/`` folder."""
    return [
        f"{path.relative_to(package).as_posix()}:{literal}"
        for path in sorted(package.rglob("*.py"))
        if path.relative_to(package).parts[0] != "rules"
        for literal in code_literals(path.read_bytes())
    ]


def test_no_rule_code_literal_outside_rules() -> None:
    """A rule's codes are its family's: code outside ``rules/`` names one through its ``RuleMeta``
    (``AG101.code``), and asks the family for the words (``await_words``), never writes them."""
    assert code_literals_outside_rules(PACKAGE) == []


def test_code_literal_check_sees_a_planted_code(tmp_path: Path) -> None:
    """The check above can fail: literals in code, f-strings and bytes are found, in and below the package;
    docstrings, comments and ``rules/`` are not."""
    package = tmp_path / "awaitguard"
    (package / "rules").mkdir(parents=True)
    (package / "sub").mkdir()
    (package / "rules" / "awaits.py").write_text('AG101 = "AG101"\n')
    (package / "clean.py").write_text('"""AG101 in prose."""\n\n# AG102 in a comment\nx = AG101.code\n')
    (package / "engine.py").write_text('def f(x, y):\n    """AG102 too."""\n    return "AG201" if x else f"{y}AG202"\n')
    (package / "sub" / "filter.py").write_text('WORDS = (b"patch", b"AG203")\n')
    assert code_literals_outside_rules(package) == [
        "engine.py:3: 'AG201'",
        "engine.py:3: 'AG202'",
        "sub/filter.py:1: 'AG203'",
    ]


# -- size limits (CONTRIBUTING: no module over 500 lines, no class over 300) ------------------------
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300


def oversized(path: Path) -> list[str]:
    """``path`` if it is over the module limit, and each class in it over the class limit (decorators count)."""
    source = path.read_text(encoding="utf-8")
    problems = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        problems.append(f"{path.name}: {lines} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            size = node.end_lineno - start + 1
            if size > MAX_CLASS_LINES:
                problems.append(f"{path.name}: class {node.name} has {size} lines (at most {MAX_CLASS_LINES})")
    return problems


def test_no_module_or_class_over_the_size_limits() -> None:
    problems = [problem for path in sorted(PACKAGE.parent.rglob("*.py")) for problem in oversized(path)]
    assert problems == []


def test_size_check_sees_a_long_module_and_a_long_class(tmp_path: Path) -> None:
    """The check above can fail: a class of 301 lines in a module of 501 is found, both at once."""
    sample = tmp_path / "big.py"
    body = "".join(f"    x{i} = {i}\n" for i in range(299))
    sample.write_text("@dataclass\nclass Big:\n" + body + "\n" * 200)
    assert oversized(sample) == ["big.py: 501 lines (at most 500)", "big.py: class Big has 301 lines (at most 300)"]
    sample.write_text("class Small:\n" + body)
    assert oversized(sample) == []


# -- the strict-AST safety net ---------------------------------------------------------------------
class _Novel(ast.stmt):
    """A statement type the facts walk has no handler for (as a new CPython may add one)."""

    _fields = ()


def test_strict_ast_net_is_on_for_the_suite() -> None:
    assert os.environ.get("AWAITGUARD_STRICT_AST") == "1"  # tests/conftest.py: pytest_configure


def test_strict_ast_net_is_read_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown statement fails the walk under the net, and is passed over without it (users)."""
    real = facts.parse

    def with_novel(data: bytes, path: str) -> ast.Module:
        tree = real(data, path)
        tree.body.append(_Novel(lineno=2, col_offset=0, end_lineno=2, end_col_offset=1))
        return tree

    monkeypatch.setattr(facts, "parse", with_novel)
    with pytest.raises(NotImplementedError, match="no handler for _Novel"):
        facts.collect("app.py", "app", False, b"x = 1\n")
    monkeypatch.setenv("AWAITGUARD_STRICT_AST", "0")
    assert facts.collect("app.py", "app", False, b"x = 1\n").module == "app"
