"""The walk's expressions: the search for awaits, async comprehensions, f-string calls and patch
calls (only on hot lines: ``hotlines``), and for calls whose values a statement uses.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from awaitguard.exprrefs import BUILTIN_CALLS, site_ref
from awaitguard.model import (
    AWAITABLE_ARGUMENTS,
    UNKNOWN_REF,
    Ref,
    is_call,
    ref_text,
)
from awaitguard.refs import (
    MOCK_CLASSES,
    comprehension_text,
    dotted,
    is_async_comprehension,
    is_async_genexp,
    is_guard,
    ref_of,
    word_count,
)
from awaitguard.uses import value_uses
from awaitguard.walking import Walk, push_children

_PATCH_FUNCS = ("patch", "patch.object", "patch.multiple", "setattr")
# where a mock class (``MOCK_CLASSES``) assigned to an attribute in test code comes from, as written:
# imported by name, `mock.`/`unittest.mock.`, pytest-mock's `mocker.`
_MOCK_MODULES = frozenset({"", "mock", "unittest.mock", "mocker"})
# a mock built from (or calling) a real object mirrors it: `spec`, `spec_set`, `wraps` (or a first positional spec)
_MIRRORING = frozenset({"spec", "spec_set", "wraps", None})
# configuring the mock's call after assigning it: what the call gives is then the test's choice (a future, say)
_CONFIGURED = (b".return_value", b".side_effect", b".configure_mock")
# a mock's return_value written as one of these is never awaitable: the mock stays a sync double
_NEVER_AWAITABLE = (
    ast.Constant,
    ast.JoinedStr,
    ast.Dict,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.Lambda,
)
_LEAVES = frozenset({ast.Name, ast.Constant, ast.Lambda})  # expressions that use no call's value
# expression nodes ``exprs`` does more with than search their children
_SPECIAL: frozenset[type[ast.AST]] = frozenset(
    {ast.Await, ast.Lambda, ast.IfExp, ast.Call, ast.JoinedStr}
    | {ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp}
)


_NOT_THROUGH = frozenset({"consumer", "spread", "for", "async-for"})


def _double_of(new: ast.expr | None, new_callable: ast.expr | None) -> tuple[Ref, ast.expr | None]:
    """The double a patch puts in place (its ref and the expression shown), UNKNOWN_REF when what its
    call gives is not decided by the expression alone."""
    if isinstance(new, ast.Call) and any(
        k.arg == "side_effect" or (k.arg == "return_value" and not isinstance(k.value, _NEVER_AWAITABLE))
        for k in new.keywords
    ):
        # a mock whose call raises (or runs a function), or returns what may be awaitable (a future
        # made elsewhere): what its call gives is not judged (patching.PatchCall's side_effect and
        # return_value, which the walk does not record)
        return UNKNOWN_REF, None
    if isinstance(new, ast.Call) and (
        any(k.arg in _MIRRORING for k in new.keywords)
        or (new.args and dotted(new.func).rpartition(".")[2] in MOCK_CLASSES)
    ):
        # a mock built from a spec (`MagicMock(spec=fetch)`, a positional spec) or wrapping a callable
        # mirrors it: unittest.mock makes its call give a coroutine when the spec is an `async def`
        return UNKNOWN_REF, None
    if new is not None:
        return ref_of(new), new
    if new_callable is not None:
        ref = ref_of(new_callable)
        return ((*ref, "()") if ref else UNKNOWN_REF), new_callable
    return UNKNOWN_REF, None


def handed_calls(node: ast.Call) -> Iterator[tuple[ast.Call, Ref, str, Ref]]:
    """The calls ``node`` hands to a function named as one of asyncio's that need an awaitable
    (``AWAITABLE_ARGUMENTS``), or named `*_task` (a project's own spawner): each with its ref, the function's
    name and the function's ref."""
    func = node.func
    name = func.attr if type(func) is ast.Attribute else func.id if type(func) is ast.Name else ""
    count = AWAITABLE_ARGUMENTS.get(name)
    if count is None:
        if not name.endswith("_task"):
            return
        count = 1  # a spawner of the project's own (`hass.async_create_task(...)`): AG111 reads what it declares
    func_ref = ref_of(func)
    if not func_ref:
        return
    for arg in node.args if count == 0 else node.args[:count]:
        if type(arg) is ast.Call:
            ref = ref_of(arg)
            if ref and is_call(ref[-1]):
                yield arg, ref, name, func_ref


class Expressions(Walk):
    def handed(self, node: ast.expr | None) -> None:
        """`asyncio.create_task(f())`, `gather(f(), g())`: each call handed to a function that needs an awaitable
        (``handed_calls``); AG111 judges whether it is asyncio's and the value never awaitable."""
        if type(node) is ast.Call and node.args and self.want_sites:
            for arg, ref, name, func_ref in handed_calls(node):
                self.site("await-arg", arg, ref, name, target_ref=func_ref)

    def drop(self, node: ast.expr, context: str) -> None:
        if isinstance(node, ast.Call) and self.want_sites:
            ref = ref_of(node)
            if ref and is_call(ref[-1]):
                self.site("drop", node, ref, context)

    def values(self, node: ast.expr | None) -> None:
        """Calls ``node`` uses as values (operands, attribute bases, consumer arguments ...): drop sites.

        Searched in every statement of every function, like the statement and boolean drop sites; the
        search is shallow (see ``uses.value_uses``), so most statements cost a type check or two.
        """
        if node is None or type(node) in _LEAVES or self.stack[-1].kind == "class" or not self.want_sites:
            return
        for context, sub, detail, consumer in value_uses(node):
            ref = ref_of(sub)
            if context in ("for", "async-for", "fstring") and (self.fscope.is_async or self.gate.walk_all):
                continue  # a comprehension or an f-string that `exprs` searches (`f"{title()}"` in a sync def is not)
            if context in ("for", "async-for"):
                self.site(context, sub, ref)
            elif ref and is_call(ref[-1]) and not (len(ref) == 2 and ref[0] in BUILTIN_CALLS):
                consumer_ref = ref_of(consumer) if consumer is not None else UNKNOWN_REF
                self.site("drop", sub, ref, context, target=detail, target_ref=consumer_ref)
                self._through(sub, ref, context, detail)

    def _through(self, call: ast.expr, ref: Ref, context: str, detail: str) -> None:
        """`str_if_bytes(read()) != "OK"`: the call given first to a function named by a plain name is a drop
        site too, for the rule to judge if that function returns it unchanged (``statements.passed_through``)."""
        if len(ref) != 2 or context in _NOT_THROUGH or not isinstance(call, ast.Call) or not call.args:
            return
        inner = call.args[0]
        inner_ref = ref_of(inner) if type(inner) is ast.Call else UNKNOWN_REF
        if inner_ref and is_call(inner_ref[-1]):
            self.site("drop", inner, inner_ref, f"through-{context}", target=detail, target_ref=ref[:1])

    def bool_context(self, test: ast.expr) -> None:
        if isinstance(test, ast.Call):
            self.drop(test, "bool")
        elif isinstance(test, ast.BoolOp):
            for value in test.values:
                self.bool_context(value)
        elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            self.bool_context(test.operand)
        elif isinstance(test, ast.NamedExpr):  # `if state := get_state():` tests the coroutine
            self.bool_context(test.value)

    def uses(self, name: str) -> int:
        """How often ``name`` occurs as a word in the enclosing function (an upper bound of its uses)."""
        scope = self.function_scope()
        node = scope.node
        if node is None:
            return 2  # module level: assume used
        if scope.text is None:
            end = getattr(node, "end_lineno", None) or len(self.lines)
            scope.text = b"\n".join(self.lines[node.lineno - 1 : end])
        word = name.encode()
        count = scope.text.count(word)  # substring count, in C: most names are clearly used
        if count > 3:
            return count
        return word_count(scope.text, word)

    def exprs(self, *nodes: ast.expr | None) -> None:
        """Search expressions for awaits, async comprehensions, f-string calls and patches."""
        scope = self.fscope
        if scope.cold:
            return
        counts = self.gate.counts(scope.is_async)
        if counts is None:
            return
        stack = [n for n in nodes if n is not None and counts[n.end_lineno or n.lineno] != counts[n.lineno - 1]]
        if not stack:
            return
        special = _SPECIAL
        place = self.sync_place()  # "" in a coroutine's own code, else where an async construct is a SyntaxError
        while stack:
            node = stack.pop()
            if node.__class__ not in special:
                push_children(stack, node)
                continue
            if isinstance(node, ast.Await):
                ref, text = site_ref(node.value)
                if place:
                    self.site("await-outside", node, ref, place, text=text)
                else:
                    self.site("await", node, ref, text=text)
                    self.handed(node.value)  # `await asyncio.gather(f(), g())`
                stack.append(node.value)
                continue
            if isinstance(node, (ast.Lambda,)):
                self._lambda_body(node)
                stack.extend(d for d in (*node.args.defaults, *node.args.kw_defaults) if d is not None)  # run here
                continue
            if node.__class__ is ast.GeneratorExp and place and is_async_genexp(node):
                # an async generator expression, legal in a plain def: only its first iterable runs here
                stack.append(node.generators[0].iter)
                continue
            if place and isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp)) and is_async_comprehension(node):
                # an async comprehension where no coroutine runs: the whole of it is the one SyntaxError (its
                # first iterable runs here, and is searched on)
                self.site(
                    "async-outside", node, UNKNOWN_REF, place, target="comprehension", text=comprehension_text(node)
                )
                stack.append(node.generators[0].iter)
                continue
            if isinstance(node, ast.IfExp) and is_guard(node.test):
                self.guarded += 1
                self.exprs(node.body, node.orelse)
                self.guarded -= 1
                stack.append(node.test)
                continue
            if isinstance(node, ast.Call) and self.gate.walk_all:
                self._patch_call(node)
            if isinstance(node, ast.JoinedStr):
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        self.drop(value.value, "fstring")
            if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                for gen in node.generators:
                    kind = "async-for" if gen.is_async else "for"
                    if isinstance(gen.iter, (ast.Call, ast.Name, ast.Attribute, ast.List, ast.Tuple)):
                        ref, text = site_ref(gen.iter)
                        self.site(kind, gen.iter, ref, text=text)
            push_children(stack, node)

    def sync_place(self) -> str:
        """Where the code being walked runs, when that is not a coroutine's own code: "def" (a plain `def`),
        "module", or "class:<qualname>" (a class body, even inside an `async def`); "" inside an `async def`."""
        top = self.stack[-1]
        if top.kind == "class":
            return f"class:{top.qualname}"
        if top.kind == "module":
            return "module"
        return "" if top.is_async else "def"

    def _lambda_body(self, node: ast.Lambda) -> None:
        """A `lambda` is never async: an `await` or an async comprehension in its body (outside an async
        generator expression, whose first iterable still runs in the lambda) is a SyntaxError, whatever the
        enclosing function is."""
        stack: list[ast.AST] = [node.body]
        while stack:
            sub = stack.pop()
            if isinstance(sub, ast.Await):
                ref, text = site_ref(sub.value)
                self.site("await-outside", sub, ref, "lambda", text=text)
            elif sub.__class__ is ast.GeneratorExp and is_async_genexp(sub):
                stack.append(sub.generators[0].iter)
                continue
            elif isinstance(sub, (ast.ListComp, ast.SetComp, ast.DictComp)) and is_async_comprehension(sub):
                self.site(
                    "async-outside", sub, UNKNOWN_REF, "lambda", target="comprehension", text=comprehension_text(sub)
                )
                stack.append(sub.generators[0].iter)
                continue
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            stack.extend(ast.iter_child_nodes(sub))

    def _patch_call(self, call: ast.Call) -> None:
        name = dotted(call.func)
        if not name:
            return
        tail = name.split(".")
        short = ".".join(tail[-2:]) if len(tail) >= 2 and tail[-2] == "patch" else tail[-1]
        if short not in _PATCH_FUNCS:
            return
        if short == "setattr":
            if name == "setattr" or "monkeypatch" not in name:
                return
            self._setattr(call)
            return
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        autospec = keywords.get("autospec")
        if autospec is not None and not (isinstance(autospec, ast.Constant) and autospec.value in (False, None)):
            return
        if "spec" in keywords or "spec_set" in keywords:
            return
        if short == "patch.multiple":
            if not call.args:
                return
            target, target_ref = self._target(call.args[0])
            for key, value in keywords.items():
                if key in ("create", "spec", "spec_set", "autospec", "new_callable"):
                    continue
                double, shown = _double_of(value, None)
                self._patch_site(call, "patch.multiple", target, target_ref, key, double, shown)
            return
        if short == "patch.object":
            if len(call.args) < 2 or not isinstance(call.args[1], ast.Constant):
                return
            attr = call.args[1].value
            if not isinstance(attr, str):
                return
            new = call.args[2] if len(call.args) >= 3 else keywords.get("new")
            double, shown = _double_of(new, keywords.get("new_callable"))
            if double:
                self._patch_site(call, "patch.object", "", ref_of(call.args[0]), attr, double, shown)
            return
        if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
            return
        new = call.args[1] if len(call.args) >= 2 else keywords.get("new")
        double, shown = _double_of(new, keywords.get("new_callable"))
        if double:
            self._patch_site(call, "patch", call.args[0].value, UNKNOWN_REF, "", double, shown)

    def _setattr(self, call: ast.Call) -> None:
        args = call.args
        if len(args) == 2 and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            double, shown = _double_of(args[1], None)
            self._patch_site(call, "monkeypatch.setattr", args[0].value, UNKNOWN_REF, "", double, shown)
        elif len(args) >= 3 and isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
            double, shown = _double_of(args[2], None)
            self._patch_site(call, "monkeypatch.setattr", "", ref_of(args[0]), args[1].value, double, shown)

    def assigned_double(self, node: ast.Assign) -> None:
        """`obj.method = MagicMock()` in test code: the mock replaces `obj.method` as `patch.object` would.

        Only a direct call of a mock class (imported by name, through `mock.`/`unittest.mock.`, or
        pytest-mock's `mocker.` twins) counts; the resolver decides it is `unittest.mock`'s. A spec'd or
        wrapping mock mirrors its target and makes no site, nor does one whose call is configured in the
        call (`side_effect`, a `return_value` that may be awaitable), as for `patch`.
        """
        call = node.value
        assert isinstance(call, ast.Call)
        module, _, cls = dotted(call.func).rpartition(".")
        if cls not in MOCK_CLASSES or module not in _MOCK_MODULES:
            return
        double, _ = _double_of(call, None)  # none for a spec'd or wrapping mock, or one configured in the call
        if not double:
            return
        if module == "mocker":  # pytest-mock's fixture hands out unittest.mock's classes
            double = ("m:unittest.mock", f".{cls}", "()")
        for target in node.targets:
            if not isinstance(target, ast.Attribute):
                continue
            owner = ref_of(target.value)
            if not owner:
                continue
            # `obj.method = mocked = Mock()`: the test may configure the mock through any name it is bound to
            later = any(self._configured_later(named) for named in node.targets)
            form = "assign:configured-later" if later else "assign"
            text = ast.unparse(call)
            self.site(
                "patch", target, UNKNOWN_REF, form, target=target.attr, target_ref=owner, double=double, text=text
            )

    def _configured_later(self, target: ast.expr) -> bool:
        """Whether the scope holding the assignment configures the double's call (`obj.method.return_value`,
        `.side_effect`, `.configure_mock(`), anywhere in its text: what the call gives is then unknown."""
        scope = self.function_scope()
        node = scope.node
        if node is None:
            text = b"\n".join(self.lines)
        else:
            if scope.text is None:
                end = getattr(node, "end_lineno", None) or len(self.lines)
                scope.text = b"\n".join(self.lines[node.lineno - 1 : end])
            text = scope.text
        written = ast.unparse(target).encode()
        return any(written + suffix in text for suffix in _CONFIGURED)

    def _target(self, node: ast.expr) -> tuple[str, Ref]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value, UNKNOWN_REF
        return "", ref_of(node)

    def _patch_site(
        self,
        call: ast.Call,
        form: str,
        target: str,
        target_ref: Ref,
        attr: str,
        double: Ref,
        shown: ast.expr | None,
    ) -> None:
        if not double:
            return
        if target and attr:
            target = f"{target}.{attr}"
        elif attr:
            target = attr
        text = ast.unparse(shown) if shown is not None else ref_text(double)
        self.site("patch", call, UNKNOWN_REF, form, target=target, target_ref=target_ref, double=double, text=text)
