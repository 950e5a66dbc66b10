"""A coroutine stored in a name, then used as its result: one finding where it is created.

mypy reports every use of ``response`` after ``response = transport.send(request)`` (an ``async def``
called without ``await``): ten uses gave ten AG102 findings, none on the line to fix, each advising
``await response`` at its use, which fails from the second use on (a coroutine is awaited once). Here
the uses in one function become one finding at the call that created the coroutine, the uses as notes.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Sequence

from awaitguard.findings import Finding, Related
from awaitguard.rules.dropped import AG102, stored_args, stored_fix, stored_use_note, used_as_result

_SHOWN_USES = 5


def collapse(findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` with each group of stored-coroutine uses replaced by one finding."""
    groups: dict[tuple[str, int, str], list[Finding]] = {}
    out: list[Finding | tuple[str, int, str]] = []
    for found in findings:
        args = dict(found.args)
        name = args.get("expr", "")
        if found.code != AG102.code or not used_as_result(args) or not name.isidentifier():
            out.append(found)
            continue
        scope = innermost_scope(found.path, found.line)
        key = (found.path, scope.lineno if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else 0, name)
        if key not in groups:
            groups[key] = []
            out.append(key)
        groups[key].append(found)
    result: list[Finding] = []
    for item in out:
        if isinstance(item, Finding):
            result.append(item)
        else:
            result.append(_one(item[2], groups[item]))
    return result


def _one(name: str, uses: list[Finding]) -> Finding:
    first = uses[0]
    scope = innermost_scope(first.path, first.line)
    created = _creation(first.path, scope, name, first.line) if scope is not None else None
    notes = [Related(u.path, u.line, u.col, stored_use_note(name=name)) for u in uses[:_SHOWN_USES]]
    if created is None:
        args = {**dict(first.args), "fix": stored_fix(name=name)}
        return Finding.make(first.path, first.line, first.col, first.code, args, first.related)
    line, col, call = created
    plain_def = scope.name if isinstance(scope, ast.FunctionDef) else ""
    args = stored_args(name=name, call=call, qualname=call.partition("(")[0].strip(), plain_def=plain_def)
    return Finding.make(first.path, line, col, AG102.code, args, notes)


Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Module


def innermost_scope(path: str, line: int) -> Scope | None:
    """The innermost function holding ``line`` in the file at ``path``, or its module (None: unreadable)."""
    tree = _parse(path)
    if tree is None:
        return None
    holding: Scope = tree
    for node in _functions(path):
        if node.lineno <= line <= (node.end_lineno or node.lineno) and node.lineno >= getattr(holding, "lineno", 0):
            holding = node
    return holding


def enclosing_class(path: str, line: int) -> str:
    """The name of the innermost class holding ``line`` in the file at ``path``, or ''."""
    tree = _parse(path)
    best: ast.ClassDef | None = None
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.ClassDef) and node.lineno <= line <= (node.end_lineno or node.lineno):
            if best is None or node.lineno >= best.lineno:
                best = node
    return best.name if best is not None else ""


@functools.lru_cache(maxsize=32)
def _functions(path: str) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...]:
    tree = _parse(path)
    if tree is None:
        return ()
    return tuple(node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _creation(path: str, scope: Scope, name: str, before: int) -> tuple[int, int, str] | None:
    """(line, 1-based code-point column, source) of the last call assigned to ``name`` before ``before``."""
    best: ast.Call | None = None
    for node in _own_nodes(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name and isinstance(value, ast.Call):
            if node.lineno < before and (best is None or node.lineno > best.lineno):
                best = value
    if best is None:
        return None
    lines = _lines(path)
    text = lines[best.lineno - 1] if best.lineno <= len(lines) else b""
    col = len(text[: best.col_offset].decode("utf-8", "replace")) + 1
    source = ast.unparse(best)
    return best.lineno, col, source


def _own_nodes(scope: Scope) -> Iterator[ast.AST]:
    """The nodes of ``scope``'s body, not of functions or classes nested in it."""
    stack: list[ast.AST] = list(scope.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


@functools.lru_cache(maxsize=32)
def _parse(path: str) -> ast.Module | None:
    try:
        tree = ast.parse(b"".join(_lines(path)))
    except (SyntaxError, ValueError, RecursionError):
        return None
    return tree


@functools.lru_cache(maxsize=32)
def _lines(path: str) -> tuple[bytes, ...]:
    try:
        with open(path, "rb") as handle:
            return tuple(handle.read().splitlines(keepends=True))
    except OSError:
        return ()


__all__ = ["collapse", "innermost_scope"]
