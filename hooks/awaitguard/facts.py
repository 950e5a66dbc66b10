"""One walk per module: definitions, imports, bindings and the sites rules judge.

The walk visits statements, not every expression node: expressions are only searched where a
rule can fire (``await`` lives in async functions, patches in files that mention them).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from awaitguard.model import (
    PLAIN_REF,
    UNKNOWN_REF,
    DefFact,
    ImportFact,
    ModuleFacts,
    Ref,
    ScopeFact,
    Site,
    ref_text,
)
from awaitguard.refs import (
    GUARD_BYTES,
    OPERATORS,
    dotted,
    ends_in_raise,
    hot_lines,
    is_guard,
    is_stub_body,
    plain_annotation,
    raises_type_error,
    ref_of,
    suppressions,
    value_uses,
    word_count,
)
from awaitguard.source import SourceError, parse

# an expression is searched only when one of its lines could hold something a rule judges
# literal patterns (a regex with one literal is a fast C search; an alternation of \b-words is not)
_HOT_WORDS = (b"await", b"async for", b" for ", b'f"', b"f'")
_PATCH_WORDS = (b"patch", b"setattr")
_PATCH_FUNCS = ("patch", "patch.object", "patch.multiple", "setattr")
_BUILTIN_CALLS = frozenset(f"n:{name}" for name in dir(builtins))  # `len(x) == 0`: no coroutine to find
_LEAVES = frozenset({ast.Name, ast.Constant, ast.JoinedStr, ast.Lambda})  # expressions that use no call's value
STRICT = os.environ.get("AWAITGUARD_STRICT_AST") == "1"


@dataclass
class _Scope:
    qualname: str
    kind: str  # module | function | class
    is_async: bool = False
    cls: str = ""  # for methods: the class qualname
    parent: str = ""
    params: tuple[str, ...] = ()
    bindings: list[tuple[str, Ref]] = field(default_factory=list)
    returns: list[Ref] = field(default_factory=list)
    returns_param: bool = False
    plain_return: bool = False  # return annotation names only plain builtins
    node: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    text: bytes | None = None  # the function's source, read once when needed
    is_static: bool = False
    is_classmethod: bool = False
    class_attrs: list[tuple[str, str, Ref]] = field(default_factory=list)
    class_members: list[str] = field(default_factory=list)
    outer_names: set[str] = field(default_factory=set)  # declared `global` or `nonlocal` here


class _Collector:
    def __init__(self, path: str, module: str, is_package: bool, data: bytes) -> None:
        self.path = path
        self.module = module
        self.is_package = is_package
        self.lines = data.split(b"\n")
        self.walk_all = b"patch" in data or b"setattr" in data
        self.hot = hot_lines(data, _HOT_WORDS + (_PATCH_WORDS if self.walk_all else ()))
        self.await_lines = hot_lines(data, (b"await",))
        self.yield_lines = hot_lines(data, (b"yield",))
        self.defs: list[DefFact] = []
        self.imports: list[ImportFact] = []
        self.star: list[str] = []
        self.all_names: tuple[str, ...] | None = None
        self.scopes: list[ScopeFact] = []
        self.sites: list[Site] = []
        self.guarded = 0
        self.expects_error = 0
        self.stack: list[_Scope] = [_Scope("", "module")]
        self.handlers: dict[type[ast.stmt], Callable[[Any], None]] = {
            ast.FunctionDef: self._def,
            ast.AsyncFunctionDef: self._def,
            ast.ClassDef: self._class,
            ast.Import: self._import,
            ast.ImportFrom: self._import_from,
            ast.Assign: self._assign,
            ast.AnnAssign: self._ann_assign,
            ast.AugAssign: self._aug_assign,
            ast.Expr: self._expr_stmt,
            ast.Return: self._return,
            ast.If: self._if,
            ast.While: self._while,
            ast.For: self._for,
            ast.AsyncFor: self._for,
            ast.With: self._with,
            ast.AsyncWith: self._with,
            ast.Try: self._try,
            ast.Match: self._match,
            ast.Global: self._global,
            ast.Nonlocal: self._nonlocal,
            ast.Assert: self._assert,
        }
        if hasattr(ast, "TryStar"):
            self.handlers[ast.TryStar] = self._try
        self.simple: tuple[type[ast.stmt], ...] = (
            ast.Pass,
            ast.Break,
            ast.Continue,
            ast.Global,
            ast.Nonlocal,
            ast.Delete,
            ast.Raise,
        )
        type_alias = getattr(ast, "TypeAlias", None)
        if type_alias is not None:
            self.simple = (*self.simple, type_alias)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def scope(self) -> _Scope:
        return self.stack[-1]

    def function_scope(self) -> _Scope:
        for scope in reversed(self.stack):
            if scope.kind != "class":
                return scope
        return self.stack[0]

    def col(self, node: ast.expr | ast.stmt) -> int:
        """1-based column in code points (ast gives UTF-8 byte offsets)."""
        offset = node.col_offset
        line = self.lines[node.lineno - 1] if 0 < node.lineno <= len(self.lines) else b""
        if line[:offset].isascii():
            return offset + 1
        return len(line[:offset].decode("utf-8", "replace")) + 1

    def bind(self, name: str, ref: Ref) -> None:
        scope = self.function_scope()
        if name in scope.outer_names:
            ref = UNKNOWN_REF  # `global`/`nonlocal`: the binding belongs to another scope, where it is unknown
        scope.bindings.append((name, ref))

    def bind_target(self, target: ast.expr, ref: Ref) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, ref)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.bind_target(elt.value if isinstance(elt, ast.Starred) else elt, UNKNOWN_REF)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            self._self_attr(target, ref)

    def _self_attr(self, target: ast.Attribute, ref: Ref) -> None:
        scope = self.function_scope()
        assert isinstance(target.value, ast.Name)
        if scope.cls and scope.params and target.value.id == scope.params[0] and not scope.is_static:
            owner = next((s for s in reversed(self.stack) if s.kind == "class" and s.qualname == scope.cls), None)
            if owner is not None:
                owner.class_attrs.append((target.attr, scope.qualname, ref))

    def site(self, kind: str, node: ast.expr | ast.stmt, ref: Ref, context: str = "", **extra: object) -> None:
        scope = self.function_scope()
        self.sites.append(
            Site(
                kind=kind,
                line=node.lineno,
                col=self.col(node),
                scope=scope.qualname,
                ref=ref,
                context=context,
                end_line=getattr(node, "end_lineno", None) or node.lineno,
                guarded=self.guarded > 0,
                expects_error=self.expects_error > 0,
                text=str(extra.pop("text", "")),  # rendered from ``ref`` when a finding needs it
                **extra,  # type: ignore[arg-type]
            )
        )

    def drop(self, node: ast.expr, context: str) -> None:
        if isinstance(node, ast.Call):
            ref = ref_of(node)
            if ref and ref[-1] == "()":
                self.site("drop", node, ref, context)

    def values(self, node: ast.expr | None) -> None:
        """Calls ``node`` uses as values (operands, attribute bases, consumer arguments ...): drop sites.

        Searched in every statement of every function, like the statement and boolean drop sites; the
        search is shallow (see ``refs.value_uses``), so most statements cost a type check or two.
        """
        if node is None or type(node) in _LEAVES or self.stack[-1].kind == "class":
            return
        for context, sub, detail, consumer in value_uses(node):
            ref = ref_of(sub)
            if context in ("for", "async-for"):
                scope = self.function_scope()
                if not (scope.is_async or self.walk_all):  # a comprehension `exprs` does not search
                    self.site(context, sub, ref)
            elif ref and ref[-1] == "()" and not (len(ref) == 2 and ref[0] in _BUILTIN_CALLS):
                consumer_ref = ref_of(consumer) if consumer is not None else UNKNOWN_REF
                self.site("drop", sub, ref, context, target=detail, target_ref=consumer_ref)

    def bool_context(self, test: ast.expr) -> None:
        if isinstance(test, ast.Call):
            self.drop(test, "bool")
        elif isinstance(test, ast.BoolOp):
            for value in test.values:
                self.bool_context(value)
        elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            self.bool_context(test.operand)

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

    # -- expressions -------------------------------------------------------------------------
    def exprs(self, *nodes: ast.expr | None) -> None:
        """Search expressions for awaits, async comprehensions, f-string calls and patches."""
        scope = self.function_scope()
        if scope.is_async or self.walk_all:
            stack = [n for n in nodes if n is not None and self._is_hot(n, self.hot)]
        elif self.await_lines:
            # a sync scope is only searched for `await` itself, which is a SyntaxError there
            stack = [n for n in nodes if n is not None and self._is_hot(n, self.await_lines)]
        else:
            return
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Await):
                ref = ref_of(node.value)
                if scope.is_async:
                    self.site("await", node, ref)
                else:
                    where = f"plain `def {scope.qualname}`" if scope.qualname else "module-level code"
                    self.site("await-outside", node, ref, where)
                stack.append(node.value)
                continue
            if isinstance(node, (ast.Lambda,)):
                continue
            if isinstance(node, ast.IfExp) and is_guard(node.test):
                self.guarded += 1
                self.exprs(node.body, node.orelse)
                self.guarded -= 1
                stack.append(node.test)
                continue
            if isinstance(node, ast.Call) and self.walk_all:
                self._patch_call(node)
            if isinstance(node, ast.JoinedStr):
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        self.drop(value.value, "fstring")
            if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                for gen in node.generators:
                    kind = "async-for" if gen.is_async else "for"
                    if isinstance(gen.iter, (ast.Call, ast.Name, ast.Attribute, ast.List, ast.Tuple)):
                        self.site(kind, gen.iter, ref_of(gen.iter))
            stack.extend(ast.iter_child_nodes(node))  # type: ignore[arg-type]

    @staticmethod
    def _is_hot(node: ast.expr, hot: list[int]) -> bool:
        index = bisect.bisect_left(hot, node.lineno)
        return index < len(hot) and hot[index] <= (node.end_lineno or node.lineno)

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
                double, shown = self._double(value, None)
                self._patch_site(call, "patch.multiple", target, target_ref, key, double, shown)
            return
        if short == "patch.object":
            if len(call.args) < 2 or not isinstance(call.args[1], ast.Constant):
                return
            attr = call.args[1].value
            if not isinstance(attr, str):
                return
            new = call.args[2] if len(call.args) >= 3 else keywords.get("new")
            double, shown = self._double(new, keywords.get("new_callable"))
            if double:
                self._patch_site(call, "patch.object", "", ref_of(call.args[0]), attr, double, shown)
            return
        if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
            return
        new = call.args[1] if len(call.args) >= 2 else keywords.get("new")
        double, shown = self._double(new, keywords.get("new_callable"))
        if double:
            self._patch_site(call, "patch", call.args[0].value, UNKNOWN_REF, "", double, shown)

    def _setattr(self, call: ast.Call) -> None:
        args = call.args
        if len(args) == 2 and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            double, shown = self._double(args[1], None)
            self._patch_site(call, "monkeypatch.setattr", args[0].value, UNKNOWN_REF, "", double, shown)
        elif len(args) >= 3 and isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
            double, shown = self._double(args[2], None)
            self._patch_site(call, "monkeypatch.setattr", "", ref_of(args[0]), args[1].value, double, shown)

    def _target(self, node: ast.expr) -> tuple[str, Ref]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value, UNKNOWN_REF
        return "", ref_of(node)

    @staticmethod
    def _double(new: ast.expr | None, new_callable: ast.expr | None) -> tuple[Ref, ast.expr | None]:
        if isinstance(new, ast.Call) and any(k.arg == "side_effect" for k in new.keywords):
            return UNKNOWN_REF, None  # a mock whose call raises (or runs a function) is not judged
        if new is not None:
            return ref_of(new), new
        if new_callable is not None:
            ref = ref_of(new_callable)
            return ((*ref, "()") if ref else UNKNOWN_REF), new_callable
        return UNKNOWN_REF, None

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

    # -- statements --------------------------------------------------------------------------
    def body(self, stmts: list[ast.stmt]) -> None:
        handlers = self.handlers
        for stmt in stmts:
            handler = handlers.get(type(stmt))
            if handler is not None:
                handler(stmt)
            elif isinstance(stmt, self.simple):
                self.exprs(*(n for n in ast.iter_child_nodes(stmt) if isinstance(n, ast.expr)))
            elif STRICT:
                raise NotImplementedError(f"awaitguard: no handler for {type(stmt).__name__}")

    def _decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> tuple[Ref, ...]:
        if self.walk_all:
            self.exprs(*node.decorator_list)
        out: list[Ref] = []
        for dec in node.decorator_list:
            ref = ref_of(dec)
            out.append(ref if ref else ("?",))
        return tuple(out)

    def _def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        parent = self.scope
        decorators = self._decorators(node)
        is_async = isinstance(node, ast.AsyncFunctionDef)
        if parent.kind == "class":
            qualname = f"{parent.qualname}.{node.name}"
            cls = parent.qualname
            parent.class_members.append(node.name)
        else:
            qualname = f"{parent.qualname}.<locals>.{node.name}" if parent.qualname else node.name
            cls = ""
            if parent.kind == "function":
                self.bind(node.name, (f"d:{qualname}",))
        args = node.args
        params = tuple(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs))
        if args.vararg:
            params += (args.vararg.arg,)
        if args.kwarg:
            params += (args.kwarg.arg,)
        dec_names = {r[-1].lstrip(".").removeprefix("n:") for r in decorators if r}
        self.exprs(*args.defaults, *(d for d in args.kw_defaults if d is not None))
        scope = _Scope(
            qualname=qualname,
            kind="function",
            is_async=is_async,
            cls=cls,
            parent=self.function_scope().qualname,
            params=params,
            node=node,
            is_static="staticmethod" in dec_names,
            is_classmethod="classmethod" in dec_names,
            plain_return=plain_annotation(node.returns),
        )
        self.stack.append(scope)
        self.body(node.body)
        self.stack.pop()
        is_generator = self._is_generator(node)
        self.defs.append(
            DefFact(
                qualname=qualname,
                kind="function",
                line=node.lineno,
                col=self.col(node),
                is_async=is_async,
                is_generator=is_generator,
                decorators=decorators,
                returns=tuple(scope.returns),
                returns_param=scope.returns_param,
                returns_annotation=ast.unparse(node.returns) if node.returns is not None else "",
                params=params,
                is_stub=is_stub_body(node.body),
                is_abstract="abstractmethod" in dec_names,
                never_returns=not any(r != PLAIN_REF for r in scope.returns) and ends_in_raise(node.body),
            )
        )
        self.scopes.append(
            ScopeFact(
                qualname=qualname,
                cls=cls,
                is_async=is_async,
                params=params,
                bindings=tuple(scope.bindings),
                parent=scope.parent,
                is_static=scope.is_static,
                is_classmethod=scope.is_classmethod,
            )
        )

    def _is_generator(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        start = node.lineno - 1
        end = getattr(node, "end_lineno", None) or len(self.lines)
        index = bisect.bisect_left(self.yield_lines, start + 1)
        if index == len(self.yield_lines) or self.yield_lines[index] > end:
            return False
        stack: list[ast.AST] = list(node.body)
        while stack:
            sub = stack.pop()
            if isinstance(sub, (ast.Yield, ast.YieldFrom)):
                return True
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            stack.extend(ast.iter_child_nodes(sub))
        return False

    def _class(self, node: ast.ClassDef) -> None:
        parent = self.scope
        decorators = self._decorators(node)
        if parent.kind == "class":
            qualname = f"{parent.qualname}.{node.name}"
            parent.class_members.append(node.name)
        else:
            qualname = f"{parent.qualname}.<locals>.{node.name}" if parent.qualname else node.name
            if parent.kind == "function":
                self.bind(node.name, (f"d:{qualname}",))
        self.exprs(*node.bases, *(k.value for k in node.keywords))
        scope = _Scope(qualname=qualname, kind="class")
        self.stack.append(scope)
        self.body(node.body)
        self.stack.pop()
        has_metaclass = any(k.arg == "metaclass" for k in node.keywords)
        members = tuple(scope.class_members)
        self.defs.append(
            DefFact(
                qualname=qualname,
                kind="class",
                line=node.lineno,
                col=self.col(node),
                decorators=decorators,
                bases=tuple(ref_of(b) or ("?",) for b in node.bases),
                members=members,
                attrs=tuple(scope.class_attrs),
                has_metaclass=has_metaclass,
                dynamic=has_metaclass or "__getattr__" in members or "__getattribute__" in members,
            )
        )

    def _class_binding(self, name: str, ref: Ref) -> None:
        scope = self.scope
        scope.class_members.append(name)
        scope.class_attrs.append((name, self.function_scope().qualname, ref))

    def _import(self, node: ast.Import) -> None:
        scope = self.function_scope().qualname
        for alias in node.names:
            if alias.asname:
                self.imports.append(ImportFact(alias.asname, alias.name, None, node.lineno, scope))
            else:
                top = alias.name.split(".")[0]
                self.imports.append(ImportFact(top, top, None, node.lineno, scope))
                if "." in alias.name:  # `import a.b` also loads a.b: keep it reachable
                    self.imports.append(ImportFact("", alias.name, None, node.lineno, scope))

    def _import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            parts = self.module.split(".") if self.module else []
            drop = node.level - 1 if self.is_package else node.level
            if drop > len(parts):
                return
            base = parts[: len(parts) - drop] if drop else parts
            module = ".".join([*base, module] if module else base)
        scope = self.function_scope().qualname
        for alias in node.names:
            if alias.name == "*":
                if not scope:
                    self.star.append(module)
                continue
            self.imports.append(ImportFact(alias.asname or alias.name, module, alias.name, node.lineno, scope))

    def _assign(self, node: ast.Assign) -> None:
        value = node.value
        ref = ref_of(value)
        if self.scope.kind == "class":
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._class_binding(target.id, ref)
        else:
            for target in node.targets:
                self.bind_target(target, ref)
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
        if (
            isinstance(value, ast.Call)
            and self.scope.kind == "function"
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and self.uses(node.targets[0].id) <= 1
        ):
            self.drop(value, "unused")
        self.values(value)
        self.exprs(value)

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            return
        ref = ref_of(node.value)
        if self.scope.kind == "class" and isinstance(node.target, ast.Name):
            self._class_binding(node.target.id, ref)
        else:
            self.bind_target(node.target, ref)
        self.values(node.value)
        self.exprs(node.value)

    def _aug_assign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and self.scope.kind != "class":
            self.bind(node.target.id, UNKNOWN_REF)
        value = node.value
        if isinstance(value, ast.Call) and self.scope.kind != "class":
            ref = ref_of(value)
            if ref and ref[-1] == "()":
                self.site("drop", value, ref, "augmented", target=OPERATORS.get(type(node.op), "") + "=")
        self.values(value)
        self.exprs(value)

    def _expr_stmt(self, node: ast.Expr) -> None:
        self.drop(node.value, "statement")
        if isinstance(node.value, (ast.BoolOp, ast.UnaryOp)):
            self.bool_context(node.value)
        self.values(node.value)
        self.exprs(node.value)

    def _return(self, node: ast.Return) -> None:
        scope = self.function_scope()
        value = node.value
        if scope.kind == "function":
            ref = ref_of(value)
            if ref and ref[0].startswith("n:") and ref[0][2:] in scope.params:
                scope.returns_param = True
            scope.returns.append(ref)
            if value is not None and scope.plain_return:
                if not scope.is_async:
                    self.drop(value, "return")
                elif isinstance(value, ast.Call) and scope.node is not None and scope.node.returns is not None:
                    ref = ref_of(value)
                    if ref and ref[-1] == "()":
                        self.site("drop", value, ref, "return-async", target=ast.unparse(scope.node.returns))
        self.values(value)
        self.exprs(value)

    def _if(self, node: ast.If) -> None:
        self.bool_context(node.test)
        self.values(node.test)
        self.exprs(node.test)
        test_lines = self.lines[node.test.lineno - 1 : node.test.end_lineno or node.test.lineno]
        guard = any(GUARD_BYTES.search(line) for line in test_lines) and is_guard(node.test)
        self.guarded += guard
        self.body(node.body)
        self.body(node.orelse)
        self.guarded -= guard

    def _while(self, node: ast.While) -> None:
        self.bool_context(node.test)
        self.values(node.test)
        self.exprs(node.test)
        self.body(node.body)
        self.body(node.orelse)

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        kind = "async-for" if isinstance(node, ast.AsyncFor) else "for"
        if self.scope.kind != "class":
            self.site(kind, node.iter, ref_of(node.iter))
            self.bind_target(node.target, UNKNOWN_REF)
        self.values(node.iter)  # the iterable itself is AG104's: only what it is built from
        self.exprs(node.iter)
        self.body(node.body)
        self.body(node.orelse)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        kind = "async-with" if isinstance(node, ast.AsyncWith) else "with"
        expects = any(raises_type_error(item) for item in node.items)
        for item in node.items:
            if self.scope.kind != "class":
                self.site(kind, item.context_expr, ref_of(item.context_expr))
            if item.optional_vars is not None:
                self.bind_target(item.optional_vars, UNKNOWN_REF)
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

    def finish(self) -> tuple[tuple[str, Ref], ...]:
        module_scope = self.stack[0]
        return tuple(module_scope.bindings)


def collect(path: str, module: str, is_package: bool, data: bytes) -> ModuleFacts:
    """Facts of one file. Raises ``SourceError`` when it cannot be parsed."""
    tree = parse(data, path)
    collector = _Collector(path, module, is_package, data)
    try:
        collector.body(tree.body)
    except RecursionError:
        raise SourceError(path, 0, "expression nested too deeply to analyse") from None
    return ModuleFacts(
        path=path,
        module=module,
        is_package=is_package,
        defs=tuple(collector.defs),
        imports=tuple(collector.imports),
        star_imports=tuple(collector.star),
        bindings=collector.finish(),
        all_names=collector.all_names,
        scopes=tuple(collector.scopes),
        sites=tuple(collector.sites),
        suppressions=suppressions(data),
        is_stub_file=path.endswith(".pyi"),
    )
