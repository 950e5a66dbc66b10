"""The walk's statements: bindings (assignments, `for`/`with` targets, `global`/`nonlocal`,
`except` and `match` names), returns, control flow, and the drop sites statements make.
"""

from __future__ import annotations

import ast

from awaitguard.assigned import Assigned
from awaitguard.conditions import static_condition
from awaitguard.exprrefs import BARE_QUALIFIERS, BUILTIN_CALLS, alias_ref, declared_ref, site_ref, unparse, value_ref
from awaitguard.model import (
    NONE_REF,
    PLAIN_REF,
    UNKNOWN_REF,
    Ref,
    is_call,
)
from awaitguard.refs import (
    GUARD_BYTES,
    dotted,
    expects_raise,
    is_guard,
    ref_of,
)
from awaitguard.uses import OPERATORS
from awaitguard.walking import Scope

_BRANCHING = frozenset({ast.Call, ast.IfExp, ast.BoolOp})


def branch_calls(value: ast.expr) -> list[ast.Call]:
    """The calls ``value`` may evaluate to: itself, a branch of a conditional expression, an operand of
    `or`/`and` (`cached or fetch()`), recursively."""
    found: list[ast.Call] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is ast.Call:
            found.append(node)
        elif isinstance(node, ast.IfExp):
            stack.extend((node.orelse, node.body))
        elif isinstance(node, ast.BoolOp):
            stack.extend(reversed(node.values))
    return found


_MAX_BRANCHES = 8


def merged_branches(value: ast.expr) -> list[Ref]:
    """What `x = a() if c else b()` and `x = a() or b()` (`and` too) may bind, a ref per branch (flattened:
    ``_branches``), for the resolver to merge as it merges the bindings of a name; [] for any other value,
    and for more than a few branches."""
    if type(value) is not ast.IfExp and type(value) is not ast.BoolOp:
        return []
    branches = _branches(value)
    if len(branches) > _MAX_BRANCHES:
        return []
    return [value_ref(branch) if branch is not None else UNKNOWN_REF for branch in branches]


# builtin types a coroutine is never an instance of
_BUILTIN_TYPES = frozenset(
    {"bytes", "str", "bytearray", "memoryview", "int", "float", "bool", "list", "dict", "tuple", "set", "frozenset"}
)


def passed_through(value: ast.IfExp, params: tuple[str, ...]) -> Ref:
    """`v.decode() if isinstance(v, bytes) else v` for a parameter `v`: ``("p:v",)``, else unknown."""
    test, kept = value.test, value.orelse
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, kept = test.operand, value.body
    if not (
        isinstance(kept, ast.Name)
        and kept.id in params
        and isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "isinstance"
        and len(test.args) == 2
        and not test.keywords
        and isinstance(test.args[0], ast.Name)
        and test.args[0].id == kept.id
    ):
        return UNKNOWN_REF
    kinds = test.args[1]
    names = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
    if all(isinstance(name, ast.Name) and name.id in _BUILTIN_TYPES for name in names):
        return (f"p:{kept.id}",)
    return UNKNOWN_REF


class Statements(Assigned):
    def _assign(self, node: ast.Assign) -> None:
        value = node.value
        self.handed(value)  # `task = asyncio.create_task(f())`
        ref = value_ref(value, self.scope.kind != "function")
        if self.scope.kind == "class":
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._class_binding(target.id, ref)
        else:
            for target in node.targets:
                self._bind_value(target, value, ref)
                if type(target) is ast.Tuple or type(target) is ast.List:
                    self.drop(value, "unpack")
        if (
            self.scope.kind == "module"
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__all__"
            and isinstance(value, (ast.List, ast.Tuple))
        ):
            self.all_names = tuple(
                e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
        if len(node.targets) == 1:
            target = node.targets[0]
            if type(target) is ast.Name:
                self._bound_sites(target.id, value, ref)
            elif type(target) is ast.Attribute and self.scope.kind == "function":
                self._stored_sites(target, value)
        if self.assigns_doubles and type(value) is ast.Call:
            self.assigned_double(node)
        self.values(value)
        self.exprs(value)

    def _bind_value(self, target: ast.expr, value: ast.expr, ref: Ref) -> None:
        """Bind ``target`` to ``value`` (its ref ``ref``): a branch at a time for `a() if c else b()` and
        `a() or b()`, element by element for `a, b = x(), y()`, and to the declared elements of a call's
        result for `a, b = pair()` (``#elt:i/n``: the resolver reads `-> tuple[A, B]`)."""
        if type(target) is ast.Tuple or type(target) is ast.List:
            targets = target.elts
            if any(type(t) is ast.Starred for t in targets):
                self.bind_target(target, UNKNOWN_REF)
            elif (type(value) is ast.Tuple or type(value) is ast.List) and len(value.elts) == len(targets):
                if any(type(v) is ast.Starred for v in value.elts):
                    self.bind_target(target, UNKNOWN_REF)
                    return
                for sub, item in zip(targets, value.elts, strict=True):
                    self._bind_value(sub, item, value_ref(item))
                    if type(sub) is ast.Name:
                        self._bound_sites(sub.id, item, value_ref(item))
            elif ref and (is_call(ref[-1]) or (ref[-1] == "#await" and len(ref) > 1 and is_call(ref[-2]))):
                for at, sub in enumerate(targets):
                    self.bind_target(sub, (*ref, f"#elt:{at}/{len(targets)}"))
            else:
                self.bind_target(target, UNKNOWN_REF)
            return
        branches = merged_branches(value)
        if branches and isinstance(target, (ast.Name, ast.Attribute)):
            for branch in branches:  # one binding each: the resolver merges them (``lookup._merge``)
                self.bind_target(target, branch)
        else:
            self.bind_target(target, ref)

    def _bound_sites(self, name: str, value: ast.expr, ref: Ref) -> None:
        """The drop sites of a call (or calls, as branches) bound to the name ``name`` in a function."""
        if type(value) not in _BRANCHING or self.scope.kind != "function" or not self.want_sites:
            return
        calls = branch_calls(value)
        if not self._declared_plain(name, calls):
            used = self.uses(name) > 1
            if type(value) is ast.Call and not used:
                self.drop(value, "unused")
            elif used and self.fscope.is_async:
                # where coroutines are made and used: sync code rarely calls async defs
                for call in calls:  # `x = fetch()`, `x = None if ... else fetch()`, `x = cached or fetch()`
                    self._used_as_result(call, ref if call is value else ref_of(call), name)

    def _stored_sites(self, target: ast.Attribute, value: ast.expr) -> None:
        """`chat.pinned = client.get_messages(...)`: a drop site for each call (or branch) stored in an attribute;
        the resolver decides whether the receiver's class declares the attribute with types that never hold a
        coroutine, and which calls make one. A call named like a class (`Builder()`) or a builtin makes none."""
        if type(value) not in _BRANCHING or not self.want_sites:
            return
        receiver = ref_of(target.value)
        if not receiver:
            return
        for call in branch_calls(value):
            ref = ref_of(call)
            if len(ref) < 2 or not is_call(ref[-1]) or ref[-2].lstrip(".").removeprefix("n:")[:1].isupper():
                continue
            if len(ref) == 2 and ref[0] in BUILTIN_CALLS:
                continue
            shown = f"{dotted(target.value) or unparse(target.value)}.{target.attr}"
            self.site("drop", call, ref, "stored", target=shown, target_ref=receiver)

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            # a declared class attribute (`session: AsyncSession`): an instance of its annotation
            if self.scope.kind == "class" and isinstance(node.target, ast.Name):
                ref = declared_ref(node.annotation)
                if ref:
                    self._class_binding(node.target.id, ref)
            elif isinstance(node.target, ast.Attribute) and isinstance(node.target.value, ast.Name):
                ref = declared_ref(node.annotation)  # `self.proc: Proc` in a method
                if ref:
                    self._self_attr(node.target, ref)
            return
        # `proc: Optional[Proc] = None`: the declared type says what the name holds, not the default (a
        # class attribute, `self.proc: ... = None`, a module's name); so does a module's or class's declared
        # name whatever its value (`current_app: Quart = LocalProxy(...)`: other scopes see the declaration,
        # as type checkers do); a local's value is what it holds first (`fut: asyncio.Future[None] =
        # loop.create_future()`), and `X: TypeAlias = Y`, `X: Final = Y` declare no type
        value = value_ref(node.value)
        declared_first = self.scope.kind != "function" or not isinstance(node.target, ast.Name)  # or `self.x: T = v`
        if value == NONE_REF or (declared_first and dotted(node.annotation) not in BARE_QUALIFIERS):
            ref = declared_ref(node.annotation) or value
        elif dotted(node.annotation).rsplit(".", 1)[-1] == "TypeAlias" and self.scope.kind != "function":
            ref = alias_ref(node.value)  # `Key: TypeAlias = Union[A, B]`: what an annotation naming it declares
        else:
            ref = value
        if self.scope.kind == "class" and isinstance(node.target, ast.Name):
            self._class_binding(node.target.id, ref)
        else:
            self.bind_target(node.target, ref)
        if isinstance(node.target, ast.Name):  # `resp: list[T] = fetch()`, as `resp = fetch()`: its drop sites
            self._bound_sites(node.target.id, node.value, value)
        self.values(node.value)
        self.exprs(node.value)

    def _type_alias(self, node: ast.stmt) -> None:
        """`type Key = A | B` (Python 3.12+): the alias, as `Key: TypeAlias = A | B` binds it."""
        name = getattr(node, "name", None)
        value = getattr(node, "value", None)
        if not isinstance(name, ast.Name) or not isinstance(value, ast.expr):
            return
        ref = alias_ref(value, statement=True)
        if self.scope.kind == "class":
            self._class_binding(name.id, ref)
        else:
            self.bind(name.id, ref)

    def _aug_assign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and self.scope.kind != "class":
            self.bind(node.target.id, UNKNOWN_REF)
        value = node.value
        if isinstance(value, ast.Call) and self.scope.kind != "class":
            ref = ref_of(value)
            if ref and is_call(ref[-1]):
                self.site("drop", value, ref, "augmented", target=OPERATORS.get(type(node.op), "") + "=")
        self.values(value)
        self.exprs(value)

    def _expr_stmt(self, node: ast.Expr) -> None:
        self.drop(node.value, "statement")
        self.handed(node.value)  # `asyncio.create_task(f())`
        if isinstance(node.value, (ast.BoolOp, ast.UnaryOp)):
            self.bool_context(node.value)
        self.values(node.value)
        self.exprs(node.value)

    def _return(self, node: ast.Return) -> None:
        scope = self.function_scope()
        value = node.value
        self.handed(value)  # `return asyncio.gather(f(), g())`
        if scope.kind == "function":
            # `return a if c else b`, `return a or b`: each branch is a value the caller may get
            for branch in _branches(value):
                ref = ref_of(branch)
                param = ref and ref[0].startswith("n:") and ref[0][2:] in scope.params
                if param and not self._through_self(scope, ref):
                    scope.returns_param = True
                scope.returns.append(ref)
            if type(value) is ast.IfExp:  # `v.decode() if isinstance(v, bytes) else v`: also ("p:v",), last
                passed = passed_through(value, scope.params)
                if passed:
                    scope.returns.append(passed)
            returns = scope.node.returns if scope.node is not None else None
            if value is not None and scope.plain_return and not scope.is_async:
                self.drop(value, "return")
            elif isinstance(value, ast.Call) and scope.is_async:
                ref = ref_of(value)  # unannotated: the awaiting caller wants a result too (target "")
                if ref and is_call(ref[-1]):
                    # a plain builtin result, or none declared: judged as is; any other: as the resolver reads it
                    context = "return-async" if scope.plain_return or returns is None else "return-declared"
                    self.site("drop", value, ref, context, target=ast.unparse(returns) if returns else "")
        self.values(value)
        self.exprs(value)

    @staticmethod
    def _through_self(scope: Scope, ref: Ref) -> bool:
        """`return self.x(...)`, `return self.attr` in a method: resolved through the class, not the caller's."""
        return bool(scope.cls) and not scope.is_static and len(ref) > 1 and ref[0][2:] == scope.params[0]

    def _walrus(self, test: ast.expr, lines: list[bytes]) -> None:
        """`if not (addon := get(...)):`: the names a test binds with `:=`, bound in the function."""
        if any(b":=" in line for line in lines):
            for sub in ast.walk(test):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    self.bind(sub.target.id, ref_of(sub.value))

    def _if(self, node: ast.If) -> None:
        if self.target is not None:
            decided = static_condition(node.test, self.target)
            if decided is not None:
                self.body(node.body if decided else node.orelse)
                return
        self.bool_context(node.test)
        self.values(node.test)
        self.exprs(node.test)
        test_lines = self.lines[node.test.lineno - 1 : node.test.end_lineno or node.test.lineno]
        self._walrus(node.test, test_lines)
        guard = any(GUARD_BYTES.search(line) for line in test_lines) and is_guard(node.test)
        self.guarded += guard
        self.body(node.body)
        self.body(node.orelse)
        self.guarded -= guard

    def _while(self, node: ast.While) -> None:
        self.bool_context(node.test)
        self.values(node.test)
        self.exprs(node.test)
        self._walrus(node.test, self.lines[node.test.lineno - 1 : node.test.end_lineno or node.test.lineno])
        self.body(node.body)
        self.body(node.orelse)

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        kind = "async-for" if isinstance(node, ast.AsyncFor) else "for"
        place = self.sync_place() if kind == "async-for" else ""
        if place:  # `async for` where no coroutine runs: a SyntaxError, not an iteration to judge
            self.site("async-outside", node, UNKNOWN_REF, place, target="async for", text=unparse(node.iter))
        elif self.scope.kind != "class":
            iterated, text = site_ref(node.iter)
            self.site(kind, node.iter, iterated, text=text)
            # `for conn in conns:` with `conns: list[Conn]`: conn is a Conn (the resolver decides)
            item = (*iterated, "#item") if kind == "for" and iterated and iterated != PLAIN_REF else UNKNOWN_REF
            self.bind_target(node.target, item if isinstance(node.target, ast.Name) else UNKNOWN_REF)
        self.values(node.iter)  # the iterable itself is AG104's: only what it is built from
        self.exprs(node.iter)
        self.body(node.body)
        self.body(node.orelse)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        kind = "async-with" if isinstance(node, ast.AsyncWith) else "with"
        expects = any(expects_raise(item) for item in node.items)
        place = self.sync_place() if kind == "async-with" else ""
        if place:  # `async with` where no coroutine runs: a SyntaxError, not a context manager to judge
            text = ", ".join(unparse(item.context_expr) for item in node.items)
            self.site("async-outside", node, UNKNOWN_REF, place, target="async with", text=text)
        for item in node.items:
            if self.scope.kind != "class" and not place:
                ref, text = site_ref(item.context_expr)
                self.site(kind, item.context_expr, ref, text=text)
            if item.optional_vars is not None:
                # `with X() as x`: x is what __enter__/__aenter__ returns (the resolver follows `return self`)
                entered = ref_of(item.context_expr)
                step = "#aenter" if kind == "async-with" else "#enter"
                self.bind_target(
                    item.optional_vars, (*entered, step) if entered and entered != PLAIN_REF else UNKNOWN_REF
                )
            self.values(item.context_expr)  # the context manager itself is AG103's
            self.exprs(item.context_expr)
        self.expects_error += expects
        self.body(node.body)
        self.expects_error -= expects

    def _assert(self, node: ast.Assert) -> None:
        self.values(node.test)
        self.exprs(node.test, node.msg)

    def _global(self, node: ast.Global) -> None:
        # assigned from a function body: the module-level value is no longer the only one
        self.stack[0].bindings.extend((name, UNKNOWN_REF) for name in node.names)
        self.function_scope().outer_names.update(node.names)

    def _nonlocal(self, node: ast.Nonlocal) -> None:
        scopes = [s for s in self.stack if s.kind == "function"]
        if len(scopes) >= 2:
            scopes[-2].bindings.extend((name, UNKNOWN_REF) for name in node.names)
        self.function_scope().outer_names.update(node.names)

    def _try(self, node: ast.Try) -> None:
        self.body(node.body)
        for handler in node.handlers:
            if handler.name:
                self.bind(handler.name, UNKNOWN_REF)
            self.body(handler.body)
        self.body(node.orelse)
        self.body(node.finalbody)

    def _match(self, node: ast.Match) -> None:
        self.exprs(node.subject)
        for case in node.cases:
            for sub in ast.walk(case.pattern):
                name = getattr(sub, "name", None) or getattr(sub, "rest", None)
                if isinstance(name, str):
                    self.bind(name, UNKNOWN_REF)
            self.body(case.body)


def _branches(value: ast.expr | None) -> list[ast.expr | None]:
    """The expressions whose value ``value`` may be: both arms of a conditional expression, every operand
    of ``and``/``or`` (each may be the result), recursively; else ``value`` itself."""
    if isinstance(value, ast.IfExp):
        return [*_branches(value.body), *_branches(value.orelse)]
    if isinstance(value, ast.BoolOp):
        return [branch for operand in value.values for branch in _branches(operand)]
    return [value]
