"""Calls used as values: the syntactic search for calls whose result an expression uses.

A coroutine used as a value is a bug whatever is done with it: an operand, a compared value, the
base of an attribute (other than a coroutine's own, ``coroutine_protocol``) or of a subscript, or
the argument of a consumer that needs the value (``len``, ``print``, logging calls, ``.format`` on
any receiver, keywords too), or a value formatted in an f-string. ``value_uses`` searches an
expression with a stack and one handler per node type (``_SEARCH``), recording each call met in a
using position with its context (the operator, the attribute or the consumer as written). The search
is shallow: it follows operators, attribute chains, awaits, conditional values, displays, f-strings
and consumer calls, never the arguments of other calls (f-strings and consumers among them aside) or
lambdas; a plain call statement or a comparison of names and constants returns at once. The facts
walk stores the uses as drop sites; the resolver decides which callees really create a coroutine.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Sequence
from typing import Any

from awaitguard.refs import CONSUMERS, LOG_METHODS, dotted

# short names a consumer call can have, for the syntactic search (the resolver confirms the callee)
_CONSUMER_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in CONSUMERS) | LOG_METHODS | {"format"}

Use = tuple[str, ast.expr, str, "ast.expr | None"]
OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
}
_UNARY: dict[type[ast.unaryop], str] = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}
_COMPARE: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_ITERABLES = (ast.Call, ast.Name, ast.Attribute, ast.List, ast.Tuple)
_CALL, _NAME, _ATTRIBUTE = ast.Call, ast.Name, ast.Attribute  # one global lookup each in the hot path


def coroutine_protocol(attr: str) -> bool:
    """Attributes a coroutine object really has: ``send``, ``throw``, ``close``, ``cr_*``, dunders."""
    return attr in ("send", "throw", "close") or attr.startswith("cr_") or attr[:2] == attr[-2:] == "__"


def value_uses(node: ast.expr) -> Sequence[Use]:
    """Calls whose result ``node`` uses as a value: operands, compared values, attribute and
    subscript bases, unpacked values aside, and arguments of consumers (``len``, ``print``, logging).

    A shallow search: it follows operators, attribute chains, awaits, conditional values, displays and
    consumer calls and f-strings, never the arguments of other calls or lambdas (a call passed on is a
    use). The iterables of comprehensions met on the way come back as "for"/"async-for" uses.
    """
    if type(node) is ast.Await:
        node = node.value
    if type(node) is _CALL:  # the common statement, a plain call: only consumers among its arguments
        func = node.func
        if type(func) is _NAME:
            if func.id not in _CONSUMER_NAMES:
                return _in_arguments(node)
        elif type(func) is _ATTRIBUTE:
            base = func.value
            while type(base) is _ATTRIBUTE:
                base = base.value
            if type(base) is _NAME and func.attr not in _CONSUMER_NAMES:
                return _in_arguments(node)
    elif type(node) is ast.Compare:  # `x.y is None`, `a == b`: no call among the operands
        if _quiet(node.left) and all(_quiet(operand) for operand in node.comparators):
            return ()
    out: list[Use] = []
    stack = [node]
    search = _SEARCH
    while stack:
        node = stack.pop()
        step = search.get(type(node))  # most nodes met are names and constants: one lookup each
        if step is not None:
            step(node, out, stack)
    return out


def _in_arguments(call: ast.Call) -> Sequence[Use]:
    """`ch.send("{}".format(title()))`: the uses inside the consumer calls passed to any call, and calls
    unpacked as arguments (`**parse()`, `*ids()`) there or in the calls passed on (`send(Req(**parse()))`)."""
    found: list[Use] = []
    for arg in call.args:
        if type(arg) is _CALL:
            found.extend(value_uses(arg) if _consumes(arg) else _in_arguments(arg))
        elif type(arg) is ast.JoinedStr:  # `ch.send(f"{title()}")`
            found.extend(value_uses(arg))
        elif type(arg) is ast.Starred and type(arg.value) is _CALL:
            found.append(("spread", arg.value, "*", None))
    for keyword in call.keywords:
        value = keyword.value
        if type(value) is _CALL:
            if keyword.arg is None:
                found.append(("spread", value, "**", None))
            found.extend(value_uses(value) if _consumes(value) else _in_arguments(value))
        elif type(value) is ast.JoinedStr:
            found.extend(value_uses(value))
    return found


def _consumes(call: ast.Call) -> bool:
    func = call.func
    return (type(func) is _NAME and func.id in _CONSUMER_NAMES) or (
        type(func) is _ATTRIBUTE and func.attr in _CONSUMER_NAMES
    )


def _quiet(node: ast.expr) -> bool:
    """A name, a constant or an attribute chain on a name: no call in it."""
    while type(node) is _ATTRIBUTE:
        node = node.value
    return type(node) is _NAME or type(node) is ast.Constant


def _call(node: ast.Call, out: list[Use], stack: list[ast.expr]) -> None:
    func = node.func
    if type(func) is ast.Attribute:
        name = func.attr
        inner = func.value
        while type(inner) is ast.Attribute:
            inner = inner.value
        if type(inner) is not ast.Name:
            stack.append(func)  # a call or subscript inside the chain: `get_user().name.upper()`
    elif type(func) is ast.Name:
        name = func.id
    else:
        return
    if name not in _CONSUMER_NAMES or not (node.args or (name == "format" and node.keywords)):
        # any other call: only what it is given through a consumer (`f(str(get()))`) or unpacked is a use
        out.extend(_in_arguments(node))
        return
    args: list[ast.expr] = node.args
    consumer: ast.expr | None
    if name == "format":
        if type(func) is not ast.Attribute:
            return  # the builtin `format(value, spec)`
        # `"{}".format(...)`; `template.format(...)`, where the rule confirms that the receiver is a `str` (an
        # object's own `format` method may want the coroutine)
        base = func.value
        if type(base) is ast.Constant and isinstance(base.value, str):
            context, detail, consumer = "format", ".format()", None
        elif dotted(func):
            context, detail, consumer = "format", f"{dotted(func)}()", func
        else:
            return
        args = [*node.args, *(keyword.value for keyword in node.keywords if keyword.arg is not None)]
    else:
        context, detail, consumer = "consumer", dotted(func) or name, func
    for arg in args:
        if type(arg) is ast.Call:
            out.append((context, arg, detail, consumer))
        stack.append(arg)


def _binary(node: ast.BinOp, out: list[Use], stack: list[ast.expr]) -> None:
    left, right = node.left, node.right
    if type(node.op) is ast.Mod and type(left) is ast.Constant and isinstance(left.value, (str, bytes)):
        args = right.elts if type(right) is ast.Tuple else [right]
        out.extend(("format", arg, "%", None) for arg in args if type(arg) is ast.Call)
        stack.extend(args)
        return
    symbol = OPERATORS.get(type(node.op), "")
    for side in (left, right):
        if type(side) is ast.Call:
            out.append(("arithmetic", side, symbol, None))
        stack.append(side)


def _compare(node: ast.Compare, out: list[Use], stack: list[ast.expr]) -> None:
    operands = [node.left, *node.comparators]
    ops = node.ops
    for position, operand in enumerate(operands):
        if type(operand) is ast.Call:
            before = type(ops[position - 1]) if position else None
            if before is ast.In or before is ast.NotIn:
                out.append(("in", operand, _COMPARE[before], None))
            else:
                op = type(ops[position]) if position < len(ops) else before
                out.append(("compare", operand, _COMPARE[op] if op else "", None))
        stack.append(operand)


def _attribute(node: ast.Attribute, out: list[Use], stack: list[ast.expr]) -> None:
    inner = node.value
    while type(inner) is ast.Attribute:  # `a.b.c`: walked here, not node by node
        node, inner = inner, inner.value
    if type(inner) is ast.Call and not coroutine_protocol(node.attr):
        out.append(("attribute", inner, node.attr, None))
    if type(inner) is not ast.Name:
        stack.append(inner)


def _subscript(node: ast.Subscript, out: list[Use], stack: list[ast.expr]) -> None:
    inner = node.value
    if type(inner) is ast.Call:
        out.append(("subscript", inner, "", None))
    stack.append(inner)


def _unary(node: ast.UnaryOp, out: list[Use], stack: list[ast.expr]) -> None:
    symbol = _UNARY.get(type(node.op))
    if symbol and type(node.operand) is ast.Call:
        out.append(("arithmetic", node.operand, f"unary {symbol}", None))
    stack.append(node.operand)


def _operands(node: ast.BoolOp, out: list[Use], stack: list[ast.expr]) -> None:
    stack.extend(node.values)


def _inner(node: ast.Await | ast.Starred | ast.NamedExpr, out: list[Use], stack: list[ast.expr]) -> None:
    stack.append(node.value)


def _branches(node: ast.IfExp, out: list[Use], stack: list[ast.expr]) -> None:
    stack.append(node.body)
    stack.append(node.orelse)


def _elements(node: ast.Tuple | ast.List, out: list[Use], stack: list[ast.expr]) -> None:
    for elt in node.elts:
        if type(elt) is ast.Starred and type(elt.value) is _CALL:  # `[*ids()]`
            out.append(("spread", elt.value, "*", None))
    stack.extend(node.elts)


def _dict_values(node: ast.Dict, out: list[Use], stack: list[ast.expr]) -> None:
    for key, value in zip(node.keys, node.values, strict=True):
        if key is None and type(value) is _CALL:  # `{**parse()}`
            out.append(("spread", value, "**", None))
    stack.extend(node.values)


def _fstring(node: ast.JoinedStr, out: list[Use], stack: list[ast.expr]) -> None:
    for part in node.values:
        if type(part) is ast.FormattedValue:
            if type(part.value) is _CALL:  # `f"{title()}"`
                out.append(("fstring", part.value, "", None))
            stack.append(part.value)


def _comprehension(
    node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp, out: list[Use], stack: list[ast.expr]
) -> None:
    for gen in node.generators:
        if isinstance(gen.iter, _ITERABLES):
            out.append(("async-for" if gen.is_async else "for", gen.iter, "", None))


# what ``value_uses`` does at each node type; a type missing here ends the search there
_SEARCH: dict[type[ast.expr], Callable[[Any, list[Use], list[ast.expr]], None]] = {
    ast.Call: _call,
    ast.Attribute: _attribute,
    ast.Subscript: _subscript,
    ast.BinOp: _binary,
    ast.Compare: _compare,
    ast.UnaryOp: _unary,
    ast.BoolOp: _operands,
    ast.Await: _inner,
    ast.Starred: _inner,
    ast.NamedExpr: _inner,
    ast.IfExp: _branches,
    ast.Tuple: _elements,
    ast.List: _elements,
    ast.Dict: _dict_values,
    ast.JoinedStr: _fstring,
    ast.ListComp: _comprehension,
    ast.SetComp: _comprehension,
    ast.DictComp: _comprehension,
    ast.GeneratorExp: _comprehension,
}


def argument_uses(
    function: ast.FunctionDef | ast.AsyncFunctionDef, name: str, lines: Collection[int]
) -> list[tuple[str, ast.Call]]:
    """How ``name`` is passed whole to calls that only want a value, in ``function``'s body (nested
    functions, lambdas and classes aside), in source order: ("consumer", call) for a positional argument of a
    consumer (by its short name; the resolver confirms the callee), a logging method or `"...".format`
    (keywords too), ("send", call) for `name.send(value)` ("await-send" when awaited), and ("passed", call)
    for a positional or keyword argument of any other call (the resolver reads what its parameter
    declares). Only the nodes spanning one of ``lines`` (where the name is written) are searched."""
    found: list[tuple[str, ast.Call]] = []
    if not lines:
        return found
    low, high = min(lines), max(lines)
    stack: list[ast.AST] = list(function.body)
    while stack:
        node: Any = stack.pop()
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.Lambda or kind is ast.ClassDef:
            continue
        first = getattr(node, "lineno", None)
        if first is not None:
            last = node.end_lineno or first
            if last < low or first > high or not any(first <= line <= last for line in lines):
                continue
        if kind is ast.Await and type(node.value) is _CALL and _sends(node.value, name):
            found.append(("await-send", node.value))
            stack.extend(ast.iter_child_nodes(node.value))
            continue
        if kind is _CALL:
            func = node.func
            if _sends(node, name):
                found.append(("send", node))
            elif _wants_value(func):
                args = list(node.args)
                if type(func) is _ATTRIBUTE and func.attr == "format":
                    args.extend(keyword.value for keyword in node.keywords if keyword.arg is not None)
                found.extend(("consumer", node) for arg in args if type(arg) is _NAME and arg.id == name)
            else:
                passed = [*node.args, *(keyword.value for keyword in node.keywords if keyword.arg is not None)]
                found.extend(("passed", node) for arg in passed if type(arg) is _NAME and arg.id == name)
        stack.extend(ast.iter_child_nodes(node))
    found.sort(key=lambda use: (use[1].lineno, use[1].col_offset))
    return found


def _sends(call: ast.Call, name: str) -> bool:
    """`name.send(value)`."""
    func = call.func
    return (
        type(func) is _ATTRIBUTE
        and func.attr == "send"
        and type(func.value) is _NAME
        and func.value.id == name
        and len(call.args) == 1
        and not call.keywords
    )


def _wants_value(func: ast.expr) -> bool:
    """A consumer by its name (``refs.CONSUMERS``: `str`, `len`, `json.dumps` ...), a logging method, or
    the `format` of a string literal or of a dotted name (the rule confirms that it is a `str`)."""
    if type(func) is _NAME:
        return func.id in CONSUMERS
    if type(func) is not _ATTRIBUTE:
        return False
    if func.attr == "format":
        base = func.value
        return (type(base) is ast.Constant and isinstance(base.value, str)) or bool(dotted(func))
    return func.attr in LOG_METHODS or dotted(func) in CONSUMERS
