"""Classes a module rewrites at import time into sync-or-async APIs.

Some libraries offer one API to both kinds of caller: at import, a module walks a class's coroutine
methods (``inspect.iscoroutinefunction``) and replaces each with ``setattr(cls, name, wrapper)``, a
plain function that runs the coroutine to completion when no event loop is running and returns it
otherwise (pyrogram's ``sync.py``, Telethon's ``syncify``). On those classes a call in sync code that
drops the result is how the API is meant to be used. ``rewritten`` finds the classes handed to such a
rewriter from a module's top level: a function that calls ``setattr`` on its parameter with a computed
name (directly, through a loop over its parameters, or through another such function of the module),
called with class names. Only a module that names ``iscoroutinefunction`` is read for this.
"""

from __future__ import annotations

import ast

from awaitguard.model import Ref
from awaitguard.refs import ref_of

MARKERS = (b"iscoroutinefunction", b"setattr")


def _param_flow(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, str]:
    """Names in ``fn`` that hold one of its parameters (the parameter itself, or a loop variable over a
    `*args` parameter): name -> parameter."""
    args = fn.args
    params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    flow = {p: p for p in params}
    if args.vararg is not None:
        flow[args.vararg.arg] = args.vararg.arg
    for node in ast.walk(fn):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Name):
            if node.iter.id in flow:
                flow[node.target.id] = flow[node.iter.id]
    return flow


def _mutated(fn: ast.FunctionDef | ast.AsyncFunctionDef, mutators: dict[str, set[int]]) -> set[int]:
    """Positions of ``fn``'s parameters whose attributes it sets by computed names (a `*args` parameter
    counts for every position from its own on)."""
    flow = _param_flow(fn)
    args = fn.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    star = args.vararg.arg if args.vararg is not None else None
    hit: set[str] = set()
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or not node.args:
            continue
        first = node.args[0]
        if not isinstance(first, ast.Name) or first.id not in flow:
            continue
        if node.func.id == "setattr" and len(node.args) == 3 and not isinstance(node.args[1], ast.Constant):
            hit.add(flow[first.id])
        elif 0 in mutators.get(node.func.id, set()):
            hit.add(flow[first.id])
    positions = {positional.index(p) for p in hit if p in positional}
    if star is not None and star in hit:
        positions.add(-1 - len(positional))  # every position from the `*args` on
    return positions


def _covers(positions: set[int], index: int) -> bool:
    return index in positions or any(p < 0 and index >= -1 - p for p in positions)


def rewritten(tree: ast.Module) -> tuple[Ref, ...]:
    """Refs of the classes this module's top level hands to a method rewriter (see the module docstring)."""
    functions = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    mutators: dict[str, set[int]] = {}
    changed = True
    while changed:  # a rewriter calling a rewriter: to a fixed point (each round adds positions)
        changed = False
        for name, fn in functions.items():
            positions = _mutated(fn, mutators)
            if positions and positions != mutators.get(name):
                mutators[name], changed = positions, True
    found: list[Ref] = []
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id not in mutators:
            continue
        for i, arg in enumerate(call.args):
            ref = ref_of(arg) if _covers(mutators[call.func.id], i) else None
            if ref and ref[0].startswith("n:"):
                found.append(ref)
    return tuple(found)
