"""What the plugin reads straight from source files with ``ast``.

mypy gives plugins no hook at ``await`` (python/mypy#5650), types unannotated callees as ``Any``,
and under ``-n`` or from its cache hands plugins trees without bodies. So the plugin reads each
file it needs once with ``ast``: which calls are awaited, which unannotated plain ``def``s provably
return no awaitable, and which modules a file reaches through strings (``import_module``,
``patch``) that mypy cannot see as imports.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

# Builtins whose call result is never awaitable.
_PLAIN_CALLS = frozenset(
    {
        "dict",
        "list",
        "set",
        "tuple",
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "len",
        "repr",
        "sorted",
        "frozenset",
        "object",
        "range",
        "sum",
        "min",
        "max",
        "abs",
        "round",
        "format",
        "open",
    }
)
_PATCH_NAMES = frozenset({"patch", "multiple"})
_IMPORT_FUNCS = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
class FileFacts:
    awaited_calls: dict[tuple[int, int], str] = field(default_factory=dict)  # (line, col0) -> text
    plain_defs: dict[str, int] = field(default_factory=dict)  # qualname -> line
    string_deps: tuple[tuple[str, int], ...] = ()  # dotted names from import_module/patch literals
    imports: tuple[str, ...] = ()  # modules named by import statements (absolute)


def _is_plain(node: ast.expr | None) -> bool:
    """True when the value of ``node`` is provably not awaitable."""
    if node is None:
        return True
    if isinstance(
        node,
        (
            ast.Constant,
            ast.JoinedStr,
            ast.Dict,
            ast.List,
            ast.Set,
            ast.Tuple,
            ast.ListComp,
            ast.DictComp,
            ast.SetComp,
            ast.GeneratorExp,
            ast.Lambda,
            ast.Compare,
        ),
    ):
        return True
    if isinstance(node, ast.BoolOp):
        return all(_is_plain(value) for value in node.values)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.Not) or _is_plain(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_plain(node.left) and _is_plain(node.right)
    if isinstance(node, ast.IfExp):
        return _is_plain(node.body) and _is_plain(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in _PLAIN_CALLS
    return False


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions, lambdas or classes."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                stack.append(child)


def _returns_plain(func: ast.FunctionDef) -> bool:
    if func.decorator_list or func.returns is not None:
        return False
    for node in _own_nodes(func.body):
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            return False
        if isinstance(node, ast.Return) and not _is_plain(node.value):
            return False
    return True


def _collect_defs(body: list[ast.stmt], prefix: str, out: dict[str, int]) -> None:
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef) and _returns_plain(stmt):
            out[prefix + stmt.name] = stmt.lineno
        elif isinstance(stmt, ast.ClassDef):
            _collect_defs(stmt.body, f"{prefix}{stmt.name}.", out)


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _callee_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _absolute(module: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base) or None


def _segment(lines: list[bytes], node: ast.expr) -> str:
    """The node's source text (``ast.get_source_segment`` re-splits the file on every call)."""
    end_line, end_col = node.end_lineno or node.lineno, node.end_col_offset
    chunk = lines[node.lineno - 1 : end_line]
    if not chunk or end_col is None:
        return "..."
    if len(chunk) == 1:
        text = chunk[0][node.col_offset : end_col]
    else:
        text = b"\n".join([chunk[0][node.col_offset :], *chunk[1:-1], chunk[-1][:end_col]])
    return text.decode("utf-8", errors="replace")


def parse(source: bytes, filename: str, package: str = "") -> FileFacts:
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError, RecursionError):
        return FileFacts()  # mypy reports the syntax error itself
    lines = source.splitlines()
    awaited: dict[tuple[int, int], str] = {}
    deps: list[tuple[str, int]] = []
    imports: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            call = node.value
            awaited[(call.lineno, call.col_offset)] = _segment(lines, call)
        elif isinstance(node, ast.Call) and node.args:
            name = _callee_name(node.func)
            literal = _literal(node.args[0])
            if literal and (name in _IMPORT_FUNCS or name in _PATCH_NAMES):
                deps.append((literal, node.lineno))
        elif isinstance(node, ast.Import):
            imports.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base:
                imports.append(base)
                imports.extend(f"{base}.{alias.name}" for alias in node.names)
    plain: dict[str, int] = {}
    _collect_defs(tree.body, "", plain)
    return FileFacts(awaited, plain, tuple(deps), tuple(imports))


class SourceFacts:
    """A per-plugin-instance cache of ``FileFacts`` keyed by path, mtime and size."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, int], FileFacts]] = {}

    def get(self, path: str, package: str = "") -> FileFacts:
        try:
            stat = os.stat(path)
        except OSError:
            return FileFacts()
        stamp = (stat.st_mtime_ns, stat.st_size)
        hit = self._cache.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return FileFacts()
        facts = parse(data, path, package)
        self._cache[path] = (stamp, facts)
        return facts

    def digest(self, path: str) -> str:
        """A stable digest of the facts other modules' findings depend on."""
        facts = self.get(path)
        return hashlib.sha256(repr(sorted(facts.plain_defs)).encode()).hexdigest()[:16]


__all__ = ["FileFacts", "SourceFacts", "parse"]
