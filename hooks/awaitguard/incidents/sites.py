"""A failure's source line -> the construct that failed there, its callee and enclosing function."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from awaitguard.incidents.patterns import Kind


@dataclass(frozen=True)
class Site:
    line: int
    callee: str  # as written: get_manager, self.pool.acquire, asyncio.run
    function: str  # the enclosing def's dotted name (Class.method), "<module>" at module level


def callee_of(node: ast.expr) -> str:
    if isinstance(node, ast.Await):
        node = node.value
    if isinstance(node, ast.Call):
        node = node.func
    text = ast.unparse(node)
    return text if len(text) <= 120 else text[:119] + "…"


def short(callee: str) -> str:
    """The last name of a dotted callee: ``self.pool.acquire`` -> ``acquire``."""
    return callee.rsplit(".", 1)[-1].split("(", 1)[0].split("[", 1)[0]


_WANTED = {"run": "call"}  # a nested event loop is a plain call (asyncio.run, loop.run_until_complete)


class Module:
    """One parsed file: its nodes by construct, and the functions holding each line."""

    def __init__(self, tree: ast.Module, data: bytes = b"") -> None:
        self._lines = data.decode("utf-8", "replace").splitlines()
        self.functions: list[tuple[int, int, str]] = []  # (first line, last line, dotted name)
        self.nodes: list[tuple[str, ast.AST, ast.expr]] = []  # (construct, node, the expression it acts on)
        self._walk(tree, "")

    def _walk(self, node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{scope}.{child.name}" if scope else child.name
                if not isinstance(child, ast.ClassDef):
                    self.functions.append((child.lineno, child.end_lineno or child.lineno, inner))
            self._note(child, node)
            self._walk(child, inner)

    def _note(self, child: ast.AST, parent: ast.AST) -> None:
        add = self.nodes.append
        if isinstance(child, ast.Await):
            add(("await", child, child.value))
        elif isinstance(child, (ast.AsyncWith, ast.With)):
            for item in child.items:
                add(("async-with" if isinstance(child, ast.AsyncWith) else "with", child, item.context_expr))
        elif isinstance(child, (ast.AsyncFor, ast.For)):
            add(("async-for" if isinstance(child, ast.AsyncFor) else "for", child, child.iter))
        elif isinstance(child, ast.comprehension):
            add(("async-for" if child.is_async else "for", child.iter, child.iter))
        elif isinstance(child, ast.Call):
            add(("call", child, child))
            used = (
                isinstance(parent, (ast.BinOp, ast.Compare, ast.AugAssign))
                or (isinstance(parent, (ast.Subscript, ast.Attribute)) and parent.value is child)
                or (isinstance(parent, (ast.Assign,)) and isinstance(parent.targets[0], (ast.Tuple, ast.List)))
                or (isinstance(parent, ast.Call) and child in parent.args)
            )
            if used:
                add(("value", child, child))

    def line(self, number: int) -> str:
        """The stripped text of line ``number`` (1-based), "" past the end."""
        return self._lines[number - 1].strip() if 0 < number <= len(self._lines) else ""

    def function_at(self, line: int) -> str:
        best = "<module>"
        size = None
        for first, last, name in self.functions:
            if first <= line <= last and (size is None or last - first < size):
                best, size = name, last - first
        return best

    def span_of(self, function: str) -> tuple[int, int] | None:
        for first, last, name in self.functions:
            if name == function:
                return first, last
        return None

    def find(self, kind: Kind, line: int, name: str | None = None) -> Site | None:
        """The construct of ``kind`` at ``line`` (a statement's first line, or any line it spans)."""
        candidates = []
        wanted = _WANTED.get(kind.construct, kind.construct)
        for construct, node, expr in self.nodes:
            if construct != wanted:
                continue
            first = getattr(node, "lineno", 0)
            last = getattr(node, "end_lineno", first) or first
            if isinstance(node, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor)):
                last = getattr(expr, "end_lineno", first) or first  # the header, not the body
            if not first <= line <= last:
                continue
            callee = callee_of(expr)
            if name is not None and short(callee) != name:
                continue
            if kind.construct == "run" and not callee.endswith(("run", "run_until_complete", "run_forever")):
                continue
            candidates.append((first != line, last - first, getattr(node, "col_offset", 0), callee))
        if not candidates:
            return None
        return Site(line, min(candidates)[3], self.function_at(line))

    def follow(self, kind: Kind, callee: str, function: str, old_line: int) -> Site | None:
        """The recorded site now: at its line if the callee is still there, else the nearest use of the
        callee in the same construct inside the same function (a moved line), else None."""
        at = self.find(kind, old_line, short(callee))
        if at is not None and at.function == function:
            return at
        span = self.span_of(function) if function != "<module>" else (1, 10**9)
        if span is None:
            return None
        wanted = _WANTED.get(kind.construct, kind.construct)
        best: tuple[bool, int, Site] | None = None
        for construct, node, expr in self.nodes:
            if construct != wanted:
                continue
            found = callee_of(expr)
            if short(found) != short(callee):
                continue
            line = getattr(node, "lineno", 0)
            if span[0] <= line <= span[1] and self.function_at(line) == function:
                rank = (found != callee, abs(line - old_line), Site(line, found, function))
                if best is None or rank[:2] < best[:2]:
                    best = rank
        return best[2] if best is not None else None
