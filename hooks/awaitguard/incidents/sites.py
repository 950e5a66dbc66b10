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


# the calls that raise when handed what is not awaitable (asyncio's functions, an event loop's and a task group's
# methods): the incident is at the argument; a test keeps them and ``model.AWAITABLE_ARGUMENTS`` alike
HANDING = frozenset(
    {"create_task", "ensure_future", "gather", "shield", "wait_for", "run", "run_coroutine_threadsafe"}
    | {"run_until_complete"}
)
_WANTED = {"run": "call"}  # a nested event loop is a plain call (asyncio.run, loop.run_until_complete)
# a coroutine used as a value may have been bound to a name first (`func = make(); func()`): the incident
# sits at that binding, so re-finding it by its callee also looks at bindings
_ALSO = {"value": "bound"}


class Module:
    """One parsed file: its nodes by construct, and the functions holding each line."""

    def __init__(self, tree: ast.Module, data: bytes = b"") -> None:
        self._lines = data.decode("utf-8", "replace").splitlines()
        self.functions: list[tuple[int, int, str]] = []  # (first line, last line, dotted name)
        self.nodes: list[tuple[str, ast.AST, ast.expr]] = []  # (construct, node, the expression it acts on)
        self._stores: list[tuple[int, str, ast.Call | None]] = []  # (line, name bound, the call when `name = f()`)
        self._params: list[tuple[int, str]] = []  # (line, name) of each function's parameters
        self._uses: list[tuple[int, str]] = []  # (line, name) where a name's value is used (called, indexed ...)
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
            func = child.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            # asyncio's, or a project's spawner (`hass.async_create_task`), as the scan's walk records them
            if name in HANDING or name.endswith("_task"):
                for arg in child.args:
                    if not isinstance(arg, ast.Starred):
                        add(("handed", child, arg))
            used = (
                isinstance(parent, (ast.BinOp, ast.Compare, ast.AugAssign))
                or (isinstance(parent, (ast.Subscript, ast.Attribute)) and parent.value is child)
                or (isinstance(parent, (ast.Assign,)) and isinstance(parent.targets[0], (ast.Tuple, ast.List)))
                or (isinstance(parent, ast.Call) and child in parent.args)
            )
            if used:
                add(("value", child, child))
        if isinstance(child, ast.Assign) and len(child.targets) == 1 and isinstance(child.targets[0], ast.Name):
            if isinstance(child.value, ast.Call):
                add(("bound", child, child.value))
        self._names(child, parent)

    def _names(self, child: ast.AST, parent: ast.AST) -> None:
        """Where names are bound (assignments, parameters, loop and `with` targets) and where a name's
        value is used in the ways a coroutine fails (called, indexed, an attribute, an operand, an argument)."""
        if isinstance(child, ast.arg):
            self._stores.append((child.lineno, child.arg, None))
            self._params.append((child.lineno, child.arg))
        if not isinstance(child, ast.Name):
            return
        if isinstance(child.ctx, (ast.Store, ast.Del)):
            single = isinstance(parent, ast.Assign) and parent.targets == [child]
            call = (
                parent.value
                if single and isinstance(parent, ast.Assign) and isinstance(parent.value, ast.Call)
                else None
            )
            self._stores.append((child.lineno, child.id, call))
        used = (
            (isinstance(parent, ast.Call) and (parent.func is child or child in parent.args))
            or (isinstance(parent, (ast.Subscript, ast.Attribute)) and parent.value is child)
            or isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Compare))
            or (isinstance(parent, ast.AugAssign) and parent.target is child)
            or (isinstance(parent, ast.Assign) and parent.value is child and isinstance(parent.targets[0], ast.Tuple))
        )
        if used:
            self._uses.append((child.lineno, child.id))

    def bound_use(self, line: int) -> Site | None:
        """The call whose result a name used at ``line`` holds, when that name is bound once in the
        function, by `name = call(...)` before ``line``: a coroutine kept in a variable, then used as a
        value (`func = make(); await func()`). None when no name, or more than one, fits."""
        function = self.function_at(line)
        found: set[tuple[int, str]] = set()
        for name in {n for at, n in self._uses if at == line}:
            stores = [(at, call) for at, n, call in self._stores if n == name and at != line]
            stores = [(at, call) for at, call in stores if self.function_at(at) == function]
            if len(stores) != 1:
                continue
            at, call = stores[0]
            if call is not None and at < line and (call.end_lineno or at) < line:
                found.add((at, callee_of(call)))
        if len(found) != 1:
            return None
        at, callee = found.pop()
        return Site(at, callee, function)

    def forwards(self, site: Site) -> bool:
        """Whether ``site``'s value is a parameter of its function, as written (`loop.create_task(coro)` in a
        spawner `def create_task(coro)`): what failed was made by the caller, one frame out."""
        if not site.callee.isidentifier() or site.function == "<module>":
            return False
        if any(
            name == site.callee and self.function_at(at) == site.function
            for at, name, _ in self._stores
            if (at, name) not in self._params
        ):
            return False  # bound again in the function: not the caller's value
        return any(name == site.callee and self.function_at(at) == site.function for at, name in self._params)

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
        also = _ALSO.get(wanted, wanted) if name is not None else wanted
        for construct, node, expr in self.nodes:
            if construct not in (wanted, also):
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
            # several arguments handed on one line: the first (which one failed, the log does not say)
            at = (expr.lineno, expr.col_offset) if construct == "handed" else (0, getattr(node, "col_offset", 0))
            candidates.append((first != line, last - first, at, callee))
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
        also = _ALSO.get(wanted, wanted)
        best: tuple[bool, int, Site] | None = None
        for construct, node, expr in self.nodes:
            if construct not in (wanted, also):
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
