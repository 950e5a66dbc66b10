"""The walk's drop sites for a call bound to a name: `done = self.send_updates()` then only used as its
result (`done.values()`, `print(done)`), also through local aliases (`view = done`), and a call bound to a
parameter declared with a plain builtin type.

How the function uses the name is read in its text (``resultuse.result_use``), then, for names passed as
arguments, in its nodes (``uses.argument_uses``); the resolver decides which calls make a coroutine.
"""

from __future__ import annotations

import ast
import re

from awaitguard.exprrefs import BUILTIN_CALLS, site_ref, unparse
from awaitguard.model import Ref, is_call
from awaitguard.refs import dotted, plain_annotation, ref_of
from awaitguard.resultuse import argument_lines, result_use, without_prose
from awaitguard.uses import argument_uses
from awaitguard.walking import Scope, Walk

_ALIAS_DEPTH = 3  # `a = f()`, `b = a`, `c = b`, `d = c`: followed this far, no further


class Assigned(Walk):
    def _declared_plain(self, name: str, calls: list[ast.Call]) -> bool:
        """`thumb = None if thumb is None else self.save_file(thumb)` where the parameter is declared `thumb: str`:
        drop sites for the calls that may be bound (the resolver decides which make a coroutine), when the
        declaration names plain builtin types only and the function never awaits the name."""
        scope = self.function_scope()
        node = scope.node
        if node is None or not calls or name not in scope.params:
            return False
        args = node.args
        param = next((a for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a.arg == name), None)
        if param is None or not plain_annotation(param.annotation) or param.annotation is None:
            return False
        self.uses(name)  # reads the function's text
        text = scope.text or b""
        if re.search(rb"\bawait\s+" + name.encode() + rb"\b", text):
            return False  # the name is awaited somewhere: its declaration is what is wrong
        declared = unparse(param.annotation)
        for call in calls:
            ref = ref_of(call)
            if ref and is_call(ref[-1]):
                self.site("drop", call, ref, "declared", target=f"{name}: {declared}")
        return True

    def _used_as_result(self, value: ast.Call, ref: Ref, name: str) -> None:
        """`done = self.send_updates()` then only `done.values()` / `done[0]`: a drop site when the call
        makes a coroutine (the resolver decides), searched in the function's text. A local alias of the name
        (`view = done`, bound once, its own line) holds the same coroutine: its uses count as the name's."""
        # `Builder()`, `len(...)`: a class (by its name) or a builtin makes no coroutine, and most such
        # names are used this way: no site (the facts of a large tree would carry thousands)
        if len(ref) < 2 or not is_call(ref[-1]) or ref[-2].lstrip(".").removeprefix("n:")[:1].isupper():
            return
        if len(ref) == 2 and ref[0] in BUILTIN_CALLS:
            return
        scope = self.function_scope()
        if scope.text is None or scope.node is None:
            return
        found = self._result_use(scope, name, {name}, 0)
        if found is None:
            return
        used, use, arguments = found
        via = f" <- {name}" if used != name else ""  # "view.values <- done": `view = done` before
        if use == " ->":  # passed to a consumer: `str(name)`, `log.info("%s", name)`, `"{}".format(name)`
            call = next(call for kind, call in arguments if kind == "consumer")
            func = call.func
            # `"...".format`, `template.format`: judged as a format (the rule confirms the receiver's method)
            formats = isinstance(func, ast.Attribute) and func.attr == "format"
            shown = ".format" if formats else dotted(func) or ".format"
            target = f"{used} -> {shown}{via}"
            self.site("drop", value, ref, "assigned", target=target, target_ref=ref_of(func))
        elif use == " =>":  # passed to a call: judged by what the parameter it binds declares (the rule asks)
            call = next(call for kind, call in arguments if kind == "passed")
            slot, shown = _slot(call, used), dotted(call.func)
            if slot and shown:
                target = f"{used} -> {shown}({slot}){via}"
                self.site("drop", value, ref, "assigned", target=target, target_ref=ref_of(call.func))
        elif use == ".send(":  # `name.send(value)`: awaited, or the value must be proved not `None`
            sent = next(((kind, call) for kind, call in arguments if kind in ("send", "await-send")), None)
            if sent is not None:
                kind, call = sent
                awaited = "await " if kind == "await-send" else ""
                target_ref = site_ref(call.args[0])[0]
                target = f"{awaited}{used}.send({via}"
                self.site("drop", value, ref, "assigned", target=target, target_ref=target_ref)
        elif use:
            self.site("drop", value, ref, "assigned", target=f"{used}{use}{via}")

    def _result_use(
        self, scope: Scope, name: str, seen: set[str], depth: int
    ) -> tuple[str, str, list[tuple[str, ast.Call]]] | None:
        """The name whose use is reported (``name`` or an alias of it), that use as ``result_use`` writes it,
        and the calls it is passed to; None when some use may want the coroutine itself. Every alias must
        use it as a result too (an awaited alias is the coroutine's use); a cycle or a deeper chain stops."""
        assert scope.text is not None and scope.node is not None
        word = name.encode()
        # `# the form is ...`, `"options form"`: the name written in prose is no use of it
        text = without_prose(scope.text, word, _docstring(scope.node, scope.text))
        aliases: list[bytes] = []
        use = result_use(text, word, aliases=aliases)
        arguments: list[tuple[str, ast.Call]] = []
        if use in ("?", ".send("):  # passed as an argument, or sent a value: what the calls are needs the nodes
            top = scope.node.lineno
            arguments = argument_uses(scope.node, name, {top + line for line in argument_lines(text, word)})
            consumed = sum(kind == "consumer" for kind, _ in arguments)
            if use == "?" and consumed:
                use = result_use(text, word, consumed, aliases=[])
            elif use == "?":  # passed to one other call, and used in no other way: its parameter decides
                passed = sum(kind == "passed" for kind, _ in arguments)
                use = " =>" if passed == 1 and result_use(text, word, 1, aliases=[]) == " ->" else ""
        if not aliases:
            return (name, use, arguments) if use else None
        if depth >= _ALIAS_DEPTH:
            return None
        found: tuple[str, str, list[tuple[str, ast.Call]]] | None = (name, use, arguments) if use else None
        assigned = _alias_assignments(scope.node, name)
        for alias in dict.fromkeys(aliases):
            other = alias.decode()
            if other in seen or other in scope.params or other not in assigned:
                return None  # a cycle, a parameter, or no `other = name` statement (`f(\n    other=name\n)`)
            followed = self._result_use(scope, other, seen | {other}, depth + 1)
            if followed is None:
                return None  # the alias is awaited, passed on, rebound ...: it may be what the coroutine is for
            found = found or followed
        return found


def _docstring(function: ast.FunctionDef | ast.AsyncFunctionDef, text: bytes) -> tuple[int, int]:
    """The span of ``function``'s docstring in ``text`` (its source from the `def` line on), in bytes."""
    first = function.body[0]
    if not (type(first) is ast.Expr and type(first.value) is ast.Constant and isinstance(first.value.value, str)):
        return 0, 0
    node = first.value
    top = function.lineno
    lines = text.split(b"\n", (node.end_lineno or node.lineno) - top + 1)
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    end_line = (node.end_lineno or node.lineno) - top
    if node.lineno - top >= len(offsets) or end_line >= len(offsets):
        return 0, 0
    return offsets[node.lineno - top] + node.col_offset, offsets[end_line] + (node.end_col_offset or 0)


def _slot(call: ast.Call, name: str) -> str:
    """Where ``call`` passes the name ``name``: its position ("0"), or its keyword ("chunk="); "" when a `*`
    argument before it hides the position."""
    for position, arg in enumerate(call.args):
        if type(arg) is ast.Starred:
            return ""
        if type(arg) is ast.Name and arg.id == name:
            return str(position)
    return next((f"{k.arg}=" for k in call.keywords if type(k.value) is ast.Name and k.value.id == name), "")


def _alias_assignments(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> set[str]:
    """The names ``function``'s own statements bind to ``name`` alone (`view = name`), nested scopes aside."""
    found: set[str] = set()
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Name)
            and node.value.id == name
        ):
            found.add(node.targets[0].id)
        elif isinstance(node, ast.stmt):
            stack.extend(ast.iter_child_nodes(node))
    return found
