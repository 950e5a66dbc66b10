"""The walk's definitions: `def`s and classes (their facts, scopes and members) and imports.

A def's body is walked in a scope of its own; its return annotation's facts are kept by the
annotation's text (most trees repeat a few); whether it is a generator is searched only where a
line mentions `yield`.
"""

from __future__ import annotations

import ast
import functools

from awaitguard.exprrefs import declared_ref, unparse
from awaitguard.model import (
    PLAIN_REF,
    UNKNOWN_REF,
    DefFact,
    ImportFact,
    Ref,
    ScopeFact,
    Site,
)
from awaitguard.overloads import is_overload, signature
from awaitguard.refs import (
    dotted,
    ends_in_raise,
    is_stub_body,
    parse_annotation,
    plain_annotation,
    ref_of,
)
from awaitguard.walking import Scope, Walk, push_children

_NO_NAMES: frozenset[str] = frozenset()
# scopes of their own inside a def: what is in them is not the def's `yield` or `return`
_OWN_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


@functools.lru_cache(maxsize=8192)
def _annotation_facts(text: bytes) -> tuple[str, bool] | None:
    """``_Collector._returns`` for an annotation's (ASCII) source text; None if it is not one expression."""
    node = parse_annotation(text.decode("ascii"))
    return None if node is None else (unparse(node), plain_annotation(node))


class Definitions(Walk):
    def _decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> tuple[Ref, ...]:
        if self.gate.walk_all:
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
        every = (*args.posonlyargs, *args.args, *args.kwonlyargs)
        params = tuple([a.arg for a in every])
        dec_names = {r[-1].lstrip(".").removeprefix("n:") for r in decorators if r} if decorators else _NO_NAMES
        bound = cls and "staticmethod" not in dec_names  # the first parameter is the instance (or the class)
        annotations = tuple(
            [
                (a.arg, ref)
                for a in every[1 if bound else 0 :]
                if a.annotation is not None and (ref := declared_ref(a.annotation))
            ]
        )
        if args.vararg:
            params += (args.vararg.arg,)
        if args.kwarg:
            params += (args.kwarg.arg,)
        if args.defaults or args.kw_defaults:
            self.exprs(*args.defaults, *(d for d in args.kw_defaults if d is not None))
        returns_text, plain_return = self._returns(node.returns)
        scope = Scope(
            qualname=qualname,
            kind="function",
            is_async=is_async,
            cls=cls,
            parent=self.function_scope().qualname,
            params=params,
            node=node,
            is_static="staticmethod" in dec_names,
            is_classmethod="classmethod" in dec_names,
            plain_return=plain_return,
        )
        scope.cold = not self.want_sites or self.gate.cold(is_async, node.lineno, node.end_lineno or len(self.lines))
        self.stack.append(scope)
        outer, self.fscope = self.fscope, scope
        self.body(node.body)
        if isinstance(node, ast.AsyncFunctionDef) and self.want_sites:
            self._async_generator_syntax(node)
        self.fscope = outer
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
                returns_annotation=returns_text,
                params=params,
                is_stub=is_stub_body(node.body),
                is_abstract="abstractmethod" in dec_names,
                never_returns=not any(r != PLAIN_REF for r in scope.returns) and ends_in_raise(node.body),
                signature=signature(node.args) if is_overload(decorators) else (),
            )
        )
        if cls and self.want_sites and _returns_none(self.defs[-1], decorators, node.name):
            # a plain method returning None, which may override an `async def` of a base class (AG110)
            self.sites.append(Site("override", node.lineno, self.col(node), qualname, (f".{node.name}",), cls))
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
                annotations=annotations,
                positional=-1 if args.posonlyargs else len(args.args),
                varargs=args.vararg is not None,
                varkw=args.kwarg is not None,
                forwards=bool(cls) and args.vararg is not None and args.kwarg is not None and _forwards(node),
            )
        )

    def _returns(self, node: ast.expr | None) -> tuple[str, bool]:
        """``(unparse(node), plain_annotation(node))`` for a return annotation.

        A few annotations (`None`, `str`, `dict[str, Any]`) make most of a tree's: both are kept by
        the annotation's source text when that is one ASCII line (byte offsets are then characters).
        """
        if node is None:
            return "", False
        if node.end_lineno == node.lineno and node.end_col_offset is not None:
            line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else b""
            if line[: node.end_col_offset].isascii():
                known = _annotation_facts(line[node.col_offset : node.end_col_offset])
                if known is not None:
                    return known
        return unparse(node), plain_annotation(node)

    def _is_generator(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        end = getattr(node, "end_lineno", None) or len(self.lines)
        if not self.gate.may_yield(node.lineno, end):
            return False
        stack: list[ast.AST] = list(node.body)
        while stack:
            sub = stack.pop()
            if isinstance(sub, (ast.Yield, ast.YieldFrom)):
                return True
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            push_children(stack, sub)
        return False

    def _async_generator_syntax(self, node: ast.AsyncFunctionDef) -> None:
        """`yield from` in an `async def`, and `return` with a value in an async generator (an `async def`
        that yields): SyntaxErrors the compiler raises, recorded as "generator-syntax" sites. Searched only
        where a line mentions `yield`; nested functions, classes and comprehensions are scopes of their own."""
        if not self.gate.may_yield(node.lineno, node.end_lineno or len(self.lines)):
            return
        yields = False
        found: list[tuple[ast.YieldFrom | ast.Return, str]] = []
        stack: list[ast.AST] = list(node.body)
        while stack:
            sub = stack.pop()
            if isinstance(sub, ast.Yield):
                yields = True
            elif isinstance(sub, ast.YieldFrom):
                yields = True
                found.append((sub, "yield from"))
            elif isinstance(sub, ast.Return) and sub.value is not None:
                found.append((sub, "return"))
            elif isinstance(sub, _OWN_SCOPES):
                continue
            push_children(stack, sub)
        for sub, construct in sorted(found, key=lambda item: (item[0].lineno, item[0].col_offset)):
            if construct == "yield from" or yields:
                text = unparse(sub.value) if sub.value is not None else ""
                self.site("generator-syntax", sub, UNKNOWN_REF, "", target=construct, text=text)

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
        scope = Scope(qualname=qualname, kind="class")
        self.stack.append(scope)
        self.body(node.body)
        self.stack.pop()
        # `metaclass=ABCMeta` adds no members: only other metaclasses make the class dynamic
        has_metaclass = any(
            k.arg == "metaclass" and dotted(k.value).rsplit(".", 1)[-1] != "ABCMeta" for k in node.keywords
        )
        refused = {n.name for n in node.body if isinstance(n, ast.FunctionDef) and _refuses(n)}
        members = tuple(m for m in scope.class_members if m not in refused)
        self.defs.append(
            DefFact(
                qualname=qualname,
                kind="class",
                line=node.lineno,
                col=self.col(node),
                decorators=decorators,
                bases=tuple(ref_of(b.value if isinstance(b, ast.Subscript) else b) or ("?",) for b in node.bases),
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


# the protocol entry points a class may define only to refuse them (aiohttp's ClientSession.__enter__
# raises TypeError("Use async with instead")): to the protocol rules, such a class does not have them
_REFUSABLE = frozenset({"__enter__", "__iter__", "__aenter__", "__aiter__", "__await__"})


def _returns_none(defn: DefFact, decorators: tuple[Ref, ...], name: str) -> bool:
    """Whether a method is a plain, undecorated, non-dunder `def` with a body of its own that returns None on
    every path it returns by (no generator, no stub, not one that only raises, no return annotation but `None`)."""
    return not (
        defn.is_async
        or decorators
        or defn.is_generator
        or defn.is_stub
        or defn.never_returns
        or defn.returns_param
        or (name[:2] == "__" and name[-2:] == "__")
        or defn.returns_annotation not in ("", "None")
        or any(ref != PLAIN_REF for ref in defn.returns)
    )


def _refuses(node: ast.FunctionDef) -> bool:
    """Whether ``node`` is one of ``_REFUSABLE`` whose body (after a docstring) only raises TypeError."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if node.name not in _REFUSABLE or len(body) != 1 or not isinstance(body[0], ast.Raise):
        return False
    exc = body[0].exc
    called = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(called, ast.Name) and called.id == "TypeError"


def _forwards(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`def finish(self, *args, **kwargs)` whose body passes both on unchanged to `super().finish(*args, **kwargs)`
    and names them nowhere else: no other parameter, no decorator, a zero-argument `super()`."""
    args = node.args
    if node.decorator_list or args.posonlyargs or len(args.args) != 1 or args.kwonlyargs:
        return False
    assert args.vararg is not None and args.kwarg is not None
    star, stars = args.vararg.arg, args.kwarg.arg
    calls = names = 0
    for sub in ast.walk(ast.Module(body=node.body, type_ignores=[])):
        if isinstance(sub, ast.Name) and sub.id in (star, stars):
            names += 1
        elif (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr == node.name
            and isinstance(sub.func.value, ast.Call)
            and isinstance(sub.func.value.func, ast.Name)
            and sub.func.value.func.id == "super"
            and not sub.func.value.args
            and not sub.func.value.keywords
            and len(sub.args) == 1
            and isinstance(sub.args[0], ast.Starred)
            and isinstance(sub.args[0].value, ast.Name)
            and sub.args[0].value.id == star
            and len(sub.keywords) == 1
            and sub.keywords[0].arg is None
            and isinstance(sub.keywords[0].value, ast.Name)
            and sub.keywords[0].value.id == stars
        ):
            calls += 1
    return calls == 1 and names == 2  # the two names are the forwarding call's, and used nowhere else
