"""What the project's Python files say: production code that installs uvloop or debug mode, and test
code that installs warning filters, sets up a loop, or holds unmarked async tests."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from awaitguard.parity.production import Line, read_text
from awaitguard.parity.pytestcfg import Filter, parse_filter
from awaitguard.tree import walk

TEST_DIRS = frozenset({"test", "tests", "testing", "testsuite"})
NOT_PRODUCTION = TEST_DIRS | {
    "docs",
    "doc",
    "docs_src",
    "examples",
    "example",
    "samples",
    "sample",
    "demo",
    "demos",
    "benchmarks",
    "benchmark",
    "bench",
    "scripts",
    "tools",
}


def is_test_file(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return (
        name == "conftest.py"
        or name.startswith("test_")
        or name.endswith("_test.py")
        or any(p in TEST_DIRS for p in parts[:-1])
    )


def is_production_file(rel: str) -> bool:
    parts = rel.split("/")
    return not is_test_file(rel) and not any(p in NOT_PRODUCTION for p in parts[:-1]) and parts[-1] != "noxfile.py"


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


@dataclass
class CodeFacts:
    uvloop: list[tuple[Line, str]] = field(default_factory=list)  # production: (where, how)
    debug: list[tuple[Line, str]] = field(default_factory=list)  # production: (where, how)
    server_runs: list[tuple[Line, str]] = field(default_factory=list)  # production: uvicorn.run(...), default loop
    test_uvloop: list[Line] = field(default_factory=list)  # tests mention uvloop
    test_debug: list[Line] = field(default_factory=list)  # tests turn debug mode on
    test_filters: list[tuple[Filter, bool]] = field(default_factory=list)  # (filter set by test code, at import)
    async_tests: list[tuple[Line, str, bool]] = field(default_factory=list)  # (def, name, marked)
    collection_hooks: list[Line] = field(default_factory=list)  # conftest hooks that may add markers
    anyio_or_trio: bool = False  # some test uses anyio's or trio's pytest plugin
    asyncio_marks: bool = False  # some test is marked for pytest-asyncio: the suite relies on marking


_UVLOOP_CALLS = {"uvloop.install": "`uvloop.install()`", "uvloop.run": "`uvloop.run(...)`"}
# what makes a uvloop loop, and whether calling it gives the loop itself (a policy makes loops in turn)
_UVLOOP_LOOPS = {"uvloop.new_event_loop": "loop", "uvloop.Loop": "loop", "uvloop.EventLoopPolicy": "policy"}
_RUNS = ("run_until_complete", "run_forever")


def _a_uvloop_loop(node: ast.expr, loops: set[str]) -> bool:
    """``uvloop.new_event_loop()`` itself, or a name the file binds to one."""
    if isinstance(node, ast.Name):
        return node.id in loops
    return isinstance(node, ast.Call) and _UVLOOP_LOOPS.get(dotted(node.func)) == "loop"


_DEBUG_WORDS = re.compile(
    rb"PYTHONASYNCIODEBUG|PYTHONDEVMODE|-X\s*dev|asyncio_debug|set_debug\(\s*True|asyncio\.run\([^)]*debug\s*=\s*True"
)
_ASYNC_MARKS = re.compile(r"\b(?:asyncio|anyio|trio)\b")


def _line(rel: str, lines: list[str], number: int) -> Line:
    return Line(rel, number, lines[number - 1].strip() if 0 < number <= len(lines) else "")


def _true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _optional_import(tree: ast.AST) -> bool:
    """``import uvloop`` inside a ``try``: the code runs on uvloop only where it is installed."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for inner in node.body:
                if isinstance(inner, (ast.Import, ast.ImportFrom)) and "uvloop" in ast.unparse(inner):
                    return True
    return False


def _uvloop_names(tree: ast.AST) -> set[str]:
    """Names the file binds to a new uvloop loop: ``loop = uvloop.new_event_loop()``."""
    return {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _a_uvloop_loop(node.value, set())
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _production_file(rel: str, tree: ast.AST, lines: list[str], facts: CodeFacts) -> None:
    start = len(facts.uvloop)
    loops = _uvloop_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        where = _line(rel, lines, node.lineno)
        if name in _UVLOOP_CALLS:
            facts.uvloop.append((where, _UVLOOP_CALLS[name]))
        elif name.endswith("set_event_loop") and node.args and _a_uvloop_loop(node.args[0], loops):
            facts.uvloop.append((where, "`set_event_loop(...)` of a `uvloop.new_event_loop()`"))
        elif (
            isinstance(node.func, ast.Attribute) and node.func.attr in _RUNS and _a_uvloop_loop(node.func.value, loops)
        ):
            facts.uvloop.append((where, f"`{node.func.attr}(...)` of a `uvloop.new_event_loop()`"))
        elif (
            name.endswith("set_event_loop_policy")
            and node.args
            and dotted(getattr(node.args[0], "func", node.args[0])) in _UVLOOP_LOOPS
        ):
            facts.uvloop.append((where, "`set_event_loop_policy(uvloop.EventLoopPolicy())`"))
        elif name.endswith("set_debug") and node.args and _true(node.args[0]):
            facts.debug.append((where, "`set_debug(True)`"))
        given = {k.arg: k.value for k in node.keywords if k.arg}
        loop = given.get("loop")
        if (
            name == "uvicorn.run"
            and (loop is None or (isinstance(loop, ast.Constant) and loop.value == "auto"))
            and not _true(given.get("reload"))  # a development server
        ):
            facts.server_runs.append((where, name))
        for keyword in node.keywords:
            if keyword.arg == "loop_factory" and dotted(keyword.value) in _UVLOOP_LOOPS:
                facts.uvloop.append((where, "`loop_factory=uvloop.new_event_loop`"))
            elif keyword.arg == "loop" and isinstance(keyword.value, ast.Constant) and keyword.value.value == "uvloop":
                facts.uvloop.append((where, f'`{name}(..., loop="uvloop")`'))
            elif keyword.arg == "debug" and _true(keyword.value) and name in ("asyncio.run", "asyncio.Runner", "run"):
                facts.debug.append((where, f"`{name}(..., debug=True)`"))
    if len(facts.uvloop) > start and _optional_import(tree):
        facts.uvloop[start:] = [(where, f"{how} here, when uvloop is installed") for where, how in facts.uvloop[start:]]


def _in_catch_warnings(parents: list[ast.AST]) -> bool:
    for parent in parents:
        if isinstance(parent, (ast.With, ast.AsyncWith)):
            for item in parent.items:
                expr = item.context_expr
                if isinstance(expr, ast.Call) and dotted(expr.func).endswith(
                    ("catch_warnings", "warns", "deprecated_call")
                ):
                    return True
    return False


def _filter_call(rel: str, node: ast.Call, lines: list[str]) -> Filter | None:
    """``warnings.filterwarnings("ignore", message=..., category=...)`` / ``simplefilter("ignore", ...)``."""
    name = dotted(node.func)
    if name not in ("warnings.filterwarnings", "warnings.simplefilter", "filterwarnings", "simplefilter"):
        return None
    simple = name.endswith("simplefilter")
    fields = ["action", "category"] if simple else ["action", "message", "category", "module"]
    given: dict[str, ast.expr] = dict(zip(fields, node.args, strict=False))
    given.update({k.arg: k.value for k in node.keywords if k.arg})
    values: dict[str, str] = {}
    for key, expr in given.items():
        if key == "category":
            values[key] = dotted(expr).rsplit(".", 1)[-1]
            if not values[key]:
                return None
        elif isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            values[key] = expr.value
        elif key in ("action", "message", "module"):
            return None  # not a literal: unknown, say nothing
    where = _line(rel, lines, node.lineno)
    spec = ":".join((values.get("action", ""), "", values.get("category", ""), values.get("module", "")))
    parsed = parse_filter(spec, where, escape=False)
    if parsed is None:
        return None
    return Filter(parsed.action, values.get("message", ""), parsed.category, parsed.module, where, where.text)


def _marks(decorators: list[ast.expr]) -> bool:
    return any(_ASYNC_MARKS.search(ast.unparse(d)) for d in decorators)


def _test_file(rel: str, tree: ast.Module, lines: list[str], facts: CodeFacts, text: str) -> None:
    if "uvloop" in text:
        number = next(n for n, raw in enumerate(lines, 1) if "uvloop" in raw)
        facts.test_uvloop.append(_line(rel, lines, number))
    if _DEBUG_WORDS.search(text.encode()):
        number = next((n for n, raw in enumerate(lines, 1) if _DEBUG_WORDS.search(raw.encode())), 1)
        facts.test_debug.append(_line(rel, lines, number))
    if re.search(r"\b(anyio|trio)\b", text):
        facts.anyio_or_trio = True
    if "mark.asyncio" in text:
        facts.asyncio_marks = True
    module_marked = False
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            module_marked = module_marked or bool(_ASYNC_MARKS.search(ast.unparse(node.value)))
            if "filterwarnings" in ast.unparse(node.value):
                for call in ast.walk(node.value):
                    if isinstance(call, ast.Call) and dotted(call.func).endswith("mark.filterwarnings"):
                        for arg in call.args:
                            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                                found = parse_filter(arg.value, _line(rel, lines, call.lineno), escape=False)
                                if found is not None:
                                    facts.test_filters.append((found, False))  # marks are applied after the config
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in RUNNING_HOOKS:
            facts.collection_hooks.append(_line(rel, lines, node.lineno))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and "pytest_plugins" in ast.unparse(node).split("=")[0]:
            facts.collection_hooks.append(_line(rel, lines, node.lineno))  # a plugin may run async tests
    _walk_tests(rel, tree, text, facts, module_marked)


def _walk_tests(rel: str, tree: ast.Module, text: str, facts: CodeFacts, module_marked: bool) -> None:
    """Async tests at module level and in classes; filters anywhere (only when the file names one)."""
    lines = text.splitlines()
    for node in tree.body:
        if isinstance(node, ast.AsyncFunctionDef):
            _async_test(rel, node, lines, facts, module_marked)
        elif isinstance(node, ast.ClassDef):
            marked = (
                module_marked
                or bool(node.bases)
                or _marks(node.decorator_list)
                or any(
                    isinstance(s, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in s.targets)
                    and bool(_ASYNC_MARKS.search(ast.unparse(s.value)))
                    for s in node.body
                )
            )
            for inner in node.body:
                if isinstance(inner, ast.AsyncFunctionDef):
                    _async_test(rel, inner, lines, facts, marked)
    if "filterwarnings" in text or "simplefilter" in text:
        _walk_filters(rel, tree, lines, facts, [])


def _async_test(rel: str, node: ast.AsyncFunctionDef, lines: list[str], facts: CodeFacts, marked: bool) -> None:
    if not node.name.startswith("test") or rel.rsplit("/", 1)[-1] == "conftest.py":
        return
    if not all(re.match(r"(?:pytest\.)?mark\.", ast.unparse(d)) for d in node.decorator_list):
        return  # a decorator may turn it into something pytest does not collect, or run it itself
    uses_anyio = any(a.arg == "anyio_backend" for a in node.args.args)
    facts.async_tests.append(
        (_line(rel, lines, node.lineno), node.name, marked or uses_anyio or _marks(node.decorator_list))
    )


def _walk_filters(rel: str, node: ast.AST, lines: list[str], facts: CodeFacts, parents: list[ast.AST]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Call):
            found = _filter_call(rel, child, lines)
            if found is not None and not _in_catch_warnings(parents):
                in_def = any(isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) for p in parents)
                facts.test_filters.append((found, not in_def))
        _walk_filters(rel, child, lines, facts, [*parents, child])


# conftest hooks that can mark or run async tests themselves (aiohttp's, a project's own runner)
RUNNING_HOOKS = frozenset(
    {
        "pytest_collection_modifyitems",
        "pytest_pycollect_makeitem",
        "pytest_itemcollected",
        "pytest_pyfunc_call",
        "pytest_runtest_call",
        "pytest_collection_finish",
    }
)
_PROD_WORDS = re.compile(rb"uvloop|set_debug|debug\s*=\s*True|uvicorn\.run")
_TEST_WORDS = re.compile(
    rb"uvloop|filterwarnings|simplefilter|PYTHONASYNCIODEBUG|PYTHONDEVMODE|set_debug|asyncio_debug"
    rb"|def pytest_|pytest_plugins"
)
_ASYNC_TEST = re.compile(rb"async\s+def\s+test")


def scan_code(root: Path, exclude: tuple[str, ...], async_tests: bool) -> CodeFacts:
    """``async_tests``: also list the async tests (parsing every test file that has one)."""
    facts = CodeFacts()
    for rel in walk(root, exclude):
        if not rel.endswith(".py"):
            continue
        test = is_test_file(rel)
        production = is_production_file(rel)
        if not test and not production:
            continue
        try:
            data = (root / rel).read_bytes()
        except OSError:
            continue
        if test:
            if not _TEST_WORDS.search(data) and not (async_tests and _ASYNC_TEST.search(data)):
                continue
        elif not _PROD_WORDS.search(data):
            continue
        text = data.decode("utf-8", errors="replace")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        lines = text.splitlines()
        if test:
            _test_file(rel, tree, lines, facts, text)
        else:
            _production_file(rel, tree, lines, facts)
    return facts


def mentions(root: Path, rel: str, pattern: str) -> Line | None:
    """The first line of a project file matching ``pattern``."""
    text = read_text(root, rel)
    if text is None:
        return None
    for number, raw in enumerate(text.splitlines(), 1):
        if re.search(pattern, raw):
            return Line(rel, number, raw.strip())
    return None
