"""Branches of a stub file decided for one target (a Python version and a platform), as type
checkers decide them: ``sys.version_info >= (3, 11)``, ``sys.platform == "win32"``,
``sys.platform.startswith(...)``, and their `not`/`and`/`or` combinations. Anything else is
undecided (None), and the walk reads both branches.
"""

from __future__ import annotations

import ast

from awaitguard.refs import (
    dotted,
)

Target = tuple[tuple[int, int], str]  # (python version, sys.platform) a stub is read for


def static_condition(test: ast.expr, target: Target) -> bool | None:
    """``sys.version_info >= (3, 11)``, ``sys.platform == "win32"`` and their combinations, decided."""
    version, platform = target
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = static_condition(test.operand, target)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp):
        values = [static_condition(v, target) for v in test.values]
        if None in values:
            return None
        return all(values) if isinstance(test.op, ast.And) else any(values)
    if isinstance(test, ast.Call) and dotted(test.func) == "sys.platform.startswith" and len(test.args) == 1:
        arg = test.args[0]
        return platform.startswith(arg.value) if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = dotted(test.left), test.ops[0], test.comparators[0]
    if left == "sys.platform" and isinstance(right, ast.Constant) and isinstance(right.value, str):
        if isinstance(op, (ast.Eq, ast.NotEq)):
            return (platform == right.value) == isinstance(op, ast.Eq)
        return None
    if left != "sys.version_info" or not isinstance(right, ast.Tuple):
        return None
    want = tuple(e.value for e in right.elts if isinstance(e, ast.Constant) and isinstance(e.value, int))
    if len(want) != len(right.elts) or not want:
        return None
    have = (*version, 0, 0)[: len(want)]
    compare = {ast.GtE: have >= want, ast.Gt: have > want, ast.Lt: have < want, ast.LtE: have <= want}
    return compare.get(type(op))
