"""One walk per module: definitions, imports, bindings and the sites rules judge.

The walk visits statements, not every expression node: expressions are only searched where a
rule can fire (``await`` lives in async functions, patches in files that mention them).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import functools
import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from awaitguard.model import (
    NONE_REF,
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
    annotation_ref,
    dotted,
    ends_in_raise,
    expects_raise,
    hot_lines,
    is_async_genexp,
    is_guard,
    is_stub_body,
    parse_annotation,
    plain_annotation,
    ref_of,
    word_count,
)
from awaitguard.source import SourceError, parse
from awaitguard.suppress import suppressions
from awaitguard.uses import OPERATORS, coroutine_protocol, value_uses

# an expression is searched only when one of its lines could hold something a rule judges
# literal patterns (a regex with one literal is a fast C search; an alternation of \b-words is not)
_HOT_WORDS = (b"async for", b" for ", b'f"', b"f'")  # and the `await` lines
_PATCH_WORDS = (b"patch", b"setattr")
_PATCH_FUNCS = ("patch", "patch.object", "patch.multiple", "setattr")
_BUILTIN_CALLS = frozenset(f"n:{name}" for name in dir(builtins))  # `len(x) == 0`: no coroutine to find
_LEAVES = frozenset({ast.Name, ast.Constant, ast.JoinedStr, ast.Lambda})  # expressions that use no call's value


def strict_ast() -> bool:
    """An unknown statement type fails the walk (the test suite sets ``AWAITGUARD_STRICT_AST=1``), read
    at each use, so setting it after import counts; users get silence."""
    return os.environ.get("AWAITGUARD_STRICT_AST") == "1"


Target = tuple[tuple[int, int], str]  # (python version, sys.platform) a stub is read for


# expression nodes ``exprs`` does more with than search their children
_SPECIAL: frozenset[type[ast.AST]] = frozenset(
    {ast.Await, ast.Lambda, ast.IfExp, ast.Call, ast.JoinedStr}
    | {ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp}
)
# fields that never hold a node worth searching: `Load`/`Store` and operators (leaves), strings, flags
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "conversion", "is_async", "kind"})
_SEARCHED: dict[type[ast.AST], tuple[str, ...]] = {ast.Constant: ()}


def _push_children(stack: list[Any], node: ast.AST) -> None:
    """``stack.extend(ast.iter_child_nodes(node))``, same order, without the leaf fields."""
    names = _SEARCHED.get(type(node))
    if names is None:
        names = _SEARCHED[type(node)] = tuple(f for f in node._fields if f not in _LEAF_FIELDS)
    for name in names:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            stack.append(value)
        elif isinstance(value, list):
            stack.extend(item for item in value if isinstance(item, ast.AST))


def _running_counts(lines: list[int], size: int) -> list[int]:
    """``counts[n]``: how many of the sorted line numbers ``lines`` are <= n, for n in 0..size+1."""
    flags = bytearray(size + 2)
    for line in lines:
        flags[line] = 1
    return list(itertools.accumulate(flags))


def _unparse(node: ast.expr) -> str:
    """``ast.unparse(node)``, without building an unparser for a plain (dotted) name or ``None``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        name = dotted(node)
        if name:
            return name
    elif isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return ast.unparse(node)


_NO_NAMES: frozenset[str] = frozenset()
# the builtin type of a literal or display, for the sites that judge it (`async for x in [1, 2]`)
_LITERAL_TYPES: dict[type[ast.AST], str] = {
    ast.List: "list",
    ast.ListComp: "list",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.DictComp: "dict",
    ast.Set: "set",
    ast.SetComp: "set",
    ast.JoinedStr: "str",
    ast.Compare: "bool",
}


def _value_ref(node: ast.expr, alias: bool = False) -> Ref:
    """What an assignment binds: ``ref_of``, and `None` apart (``NONE_REF``): a `None` default merged with a
    value assigned elsewhere (`self.proc = None` here, `self.proc = Proc()` there) is that value. A type
    alias (`Handler = Callable[[int], Awaitable[None]]`, `Key = Union[int, str]`) at module or class level
    (``alias``) is its text (``"a:..."``)."""
    kind = type(node)
    if kind is ast.Call or kind is ast.Name or kind is ast.Attribute:  # the common cases, with no more tests
        return ref_of(node)
    if isinstance(node, ast.Constant) and node.value is None:
        return NONE_REF
    if alias and (
        (isinstance(node, ast.Subscript) and dotted(node.value).rsplit(".", 1)[-1] in _TYPE_FORMS)
        # `READ | WRITE` may be flags: `X | None` is a type
        or (isinstance(node, ast.BinOp) and _union_with_none(node))
    ):
        return (f"a:{_unparse(node)}",)
    return ref_of(node)


def _union_with_none(node: ast.BinOp) -> bool:
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        if isinstance(node.right, ast.Constant) and node.right.value is None:
            return True
        if isinstance(node.left, ast.Constant) and node.left.value is None:
            return True
        node = node.left  # type: ignore[assignment]
    return False


_TYPE_FORMS = frozenset({"Union", "Optional", "Callable"})
_BARE_QUALIFIERS = frozenset(
    f"{module}{name}" for module in ("", "typing.", "typing_extensions.") for name in ("TypeAlias", "Final", "ClassVar")
)


def _type_form(node: ast.expr) -> str:
    """The text of a union or a `Callable[...]` annotation, "" for any other expression."""
    if isinstance(node, ast.BinOp):
        return _unparse(node) if isinstance(node.op, ast.BitOr) else ""
    if isinstance(node, ast.Subscript) and dotted(node.value).rsplit(".", 1)[-1] in _TYPE_FORMS:
        return _unparse(node)
    return ""


def declared_ref(node: ast.expr) -> Ref:
    """``annotation_ref``, and a union or a `Callable[...]` as its text (``"t:..."``): the resolver reads it
    member by member (`int | str`, `Callable[..., Coroutine[Any, Any, T]]`)."""
    kind = type(node)
    if kind is ast.Name or kind is ast.Attribute:  # the common case: a class, no union or `Callable` to read
        return annotation_ref(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parsed = parse_annotation(node.value)
        if parsed is None:
            return UNKNOWN_REF
        node = parsed
    if not (isinstance(node, ast.Subscript) and dotted(node.value).rsplit(".", 1)[-1] == "Callable"):
        ref = annotation_ref(node)
        if ref:
            return ref
    form = _type_form(node)
    return (f"t:{form}",) if form else UNKNOWN_REF


_CONSTANT_TYPES = frozenset({"int", "float", "complex", "bool", "str", "bytes"})


def site_ref(node: ast.expr) -> tuple[Ref, str]:
    """``ref_of(node)`` for a site, and the expression as written when the ref cannot show it: a literal
    is an instance of its builtin type (``("b:list",)``), shown as written (`await 1`, not `await plain`)."""
    ref = ref_of(node)
    if not ref or ref[0] not in ("plain", "lambda", "genexp"):
        return ref, ""
    if isinstance(node, ast.Constant):
        name = type(node.value).__name__
        name = name if name in _CONSTANT_TYPES else ""
    elif isinstance(node, ast.UnaryOp):
        name = "bool"  # `not x`, the only unary operation that is a plain ref
    else:
        name = _LITERAL_TYPES.get(type(node), "")
    return ((f"b:{name}",) if name else ref), _unparse(node)


@functools.lru_cache(maxsize=8192)
def _annotation_facts(text: bytes) -> tuple[str, bool] | None:
    """``_Collector._returns`` for an annotation's (ASCII) source text; None if it is not one expression."""
    node = parse_annotation(text.decode("ascii"))
    return None if node is None else (_unparse(node), plain_annotation(node))


@dataclass(slots=True)
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
    cold: bool = False  # no line of the function can hold what ``exprs`` looks for: it returns at once


class _Collector:
    def __init__(
        self, path: str, module: str, is_package: bool, data: bytes, target: Target | None = None, sites: bool = True
    ) -> None:
        self.path = path
        self.want_sites = sites
        # version and platform checks are decided in stub files, as type checkers do
        self.target = target if path.endswith(".pyi") else None
        self.module = module
        self.is_package = is_package
        self.lines = data.split(b"\n")
        self.ascii = data.isascii()
        self.walk_all = b"patch" in data or b"setattr" in data
        self.await_lines = hot_lines(data, (b"await",))
        self.hot = hot_lines(data, _HOT_WORDS + (_PATCH_WORDS if self.walk_all else ()), self.await_lines)
        # running counts of hot lines: a node spanning lines a..b is hot when counts[b] != counts[a - 1]
        self.hot_counts = _running_counts(self.hot, len(self.lines))
        self.await_counts = _running_counts(self.await_lines, len(self.lines))
        self.yield_lines = hot_lines(data, (b"yield",))
        self.defs: list[DefFact] = []
        self.imports: list[ImportFact] = []
        self.star: list[str] = []
        self.all_names: tuple[str, ...] | None = None
        self.scopes: list[ScopeFact] = []
        self.sites: list[Site] = []
        self.guarded = 0
        self.expects_error = 0
        self.stack: list[_Scope] = [_Scope("", "module", cold=not sites)]
        self.fscope = self.stack[0]  # the innermost scope that is not a class: ``function_scope()``
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
        return self.fscope

    def col(self, node: ast.expr | ast.stmt) -> int:
        """1-based column in code points (ast gives UTF-8 byte offsets)."""
        offset = node.col_offset
        if self.ascii:  # most files: a byte is a code point
            return offset + 1
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

    def site(
        self,
        kind: str,
        node: ast.expr | ast.stmt,
        ref: Ref,
        context: str = "",
        target: str = "",
        target_ref: Ref = UNKNOWN_REF,
        double: Ref = UNKNOWN_REF,
        text: str = "",  # rendered from ``ref`` when a finding needs it
    ) -> None:
        if not self.want_sites:
            return
        line = node.lineno
        # positional: a call with a dozen keywords cost more than building the site (about 200,000 a scan)
        self.sites.append(
            Site(
                kind,
                line,
                self.col(node),
                self.fscope.qualname,
                ref,
                context,
                node.end_lineno or line,
                self.guarded > 0,
                self.expects_error > 0,
                target,
                target_ref,
                double,
                text,
            )
        )

    def drop(self, node: ast.expr, context: str) -> None:
        if isinstance(node, ast.Call) and self.want_sites:
            ref = ref_of(node)
            if ref and ref[-1] == "()":
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
        scope = self.fscope
        if scope.cold:
            return
        if scope.is_async or self.walk_all:
            counts = self.hot_counts
        elif self.await_lines:
            counts = self.await_counts  # a sync scope is only searched for `await`, a SyntaxError there
        else:
            return
        stack = [n for n in nodes if n is not None and counts[n.end_lineno or n.lineno] != counts[n.lineno - 1]]
        if not stack:
            return
        special = _SPECIAL
        while stack:
            node = stack.pop()
            if node.__class__ not in special:
                _push_children(stack, node)
                continue
            if isinstance(node, ast.Await):
                ref, text = site_ref(node.value)
                if scope.is_async:
                    self.site("await", node, ref, text=text)
                else:
                    where = f"plain `def {scope.qualname}`" if scope.qualname else "module-level code"
                    self.site("await-outside", node, ref, where, text=text)
                stack.append(node.value)
                continue
            if isinstance(node, (ast.Lambda,)):
                continue
            if node.__class__ is ast.GeneratorExp and not scope.is_async and is_async_genexp(node):
                # an async generator expression, legal in a plain def: only its first iterable runs here
                stack.append(node.generators[0].iter)
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
                        ref, text = site_ref(gen.iter)
                        self.site(kind, gen.iter, ref, text=text)
            _push_children(stack, node)

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
            elif strict_ast():
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
        every = (*args.posonlyargs, *args.args, *args.kwonlyargs)
        params = tuple([a.arg for a in every])
        annotations = tuple(
            [
                (a.arg, ref)
                for a in every[1 if cls else 0 :]
                if a.annotation is not None and (ref := declared_ref(a.annotation))
            ]
        )
        if args.vararg:
            params += (args.vararg.arg,)
        if args.kwarg:
            params += (args.kwarg.arg,)
        dec_names = {r[-1].lstrip(".").removeprefix("n:") for r in decorators if r} if decorators else _NO_NAMES
        if args.defaults or args.kw_defaults:
            self.exprs(*args.defaults, *(d for d in args.kw_defaults if d is not None))
        returns_text, plain_return = self._returns(node.returns)
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
            plain_return=plain_return,
        )
        counts = self.hot_counts if is_async or self.walk_all else self.await_counts
        scope.cold = not self.want_sites or counts[node.end_lineno or len(self.lines)] == counts[node.lineno - 1]
        self.stack.append(scope)
        outer, self.fscope = self.fscope, scope
        self.body(node.body)
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
                annotations=annotations,
            )
        )

    def _returns(self, node: ast.expr | None) -> tuple[str, bool]:
        """``(_unparse(node), plain_annotation(node))`` for a return annotation.

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
        return _unparse(node), plain_annotation(node)

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
            _push_children(stack, sub)
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
        # `metaclass=ABCMeta` adds no members: only other metaclasses make the class dynamic
        has_metaclass = any(
            k.arg == "metaclass" and dotted(k.value).rsplit(".", 1)[-1] != "ABCMeta" for k in node.keywords
        )
        members = tuple(scope.class_members)
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

    def _assign(self, node: ast.Assign) -> None:
        value = node.value
        ref = _value_ref(value, self.scope.kind != "function")
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
            and self.want_sites
        ):
            name = node.targets[0].id
            if self.uses(name) <= 1:
                self.drop(value, "unused")
            elif self.fscope.is_async:  # where coroutines are made and used: sync code rarely calls async defs
                self._used_as_result(value, ref, name)
        self.values(value)
        self.exprs(value)

    def _used_as_result(self, value: ast.Call, ref: Ref, name: str) -> None:
        """`done = self.send_updates()` then only `done.values()` / `done[0]`: a drop site when the call
        makes a coroutine (the resolver decides), searched in the function's text."""
        # `Builder()`, `len(...)`: a class (by its name) or a builtin makes no coroutine, and most such
        # names are used this way: no site (the facts of a large tree would carry thousands)
        if len(ref) < 2 or ref[-1] != "()" or ref[-2].lstrip(".").removeprefix("n:")[:1].isupper():
            return
        if len(ref) == 2 and ref[0] in _BUILTIN_CALLS:
            return
        text = self.function_scope().text
        word = name.encode()
        if text is None:
            return
        use = result_use(text, word)
        if use:
            self.site("drop", value, ref, "assigned", target=f"{name}{use}")

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
        # class attribute, `self.proc: ... = None`, a module's name); a value assigned to a name with its
        # declaration is what the name holds first (`fut: asyncio.Future[None] = loop.create_future()`), and
        # `X: TypeAlias = Y`, `X: Final = Y` declare no type
        value = _value_ref(node.value)
        declared_first = self.scope.kind == "class" or not isinstance(node.target, ast.Name)  # or `self.x: T = v`
        if value == NONE_REF or (declared_first and dotted(node.annotation) not in _BARE_QUALIFIERS):
            ref = declared_ref(node.annotation) or value
        else:
            ref = value
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
            if ref and ref[0].startswith("n:") and ref[0][2:] in scope.params and not self._through_self(scope, ref):
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

    @staticmethod
    def _through_self(scope: _Scope, ref: Ref) -> bool:
        """`return self.x(...)`, `return self.attr` in a method: resolved through the class, not the caller's."""
        return bool(scope.cls) and not scope.is_static and len(ref) > 1 and ref[0][2:] == scope.params[0]

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
        for item in node.items:
            if self.scope.kind != "class":
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

    def finish(self) -> tuple[tuple[str, Ref], ...]:
        module_scope = self.stack[0]
        return tuple(module_scope.bindings)


_ATTRIBUTE = re.compile(rb"\.[ \t]*(\w+)")
# after the name: an operator that uses its value (`c + 1`, `c == 1`, `c < 2`); `c += 1` counts too
_OPERATOR = re.compile(rb"(==|!=|<=|>=|\*\*|//|[-+*/%@<>])(?!=)|([-+*/%@]=)")
# before the name: a truth test (`if c:`, `while c:`, `not c`, `assert c`, `x if c else y`) or `in c`
_BEFORE = re.compile(rb"(?:^|[^\w.])(?<!is )(if|elif|while|not|assert|in)[ \t]+$")
# after the name, where a truth test or an `in` ends: `if c:`, `not c)`, `x in c and ...`, `assert c, "..."`
_TEST_END = re.compile(rb"(?:[:),\]]|\n|$|(?:and|or|else)\b)")


def result_use(text: bytes, word: bytes) -> str:
    """How ``text`` uses the name ``word`` as if it held a call's result, when ``text`` binds it once
    (``word = ...``) and uses it in no other way; else "". The first such use, as written after the
    name: ``.attr`` (not a coroutine's own: ``send``, ``close``, ``cr_*`` ...), ``[``, ``(`` (called),
    `` +`` / `` ==`` / `` <`` (an operand), `` if`` (tested for truth), `` in`` (searched), `` for`` (iterated),
    `` {`` (in an f-string). Occurrences after a dot (``obj.word``) are another object's attribute. Any
    other use (passed on, awaited, returned, rebound, a parameter of a nested function) may be what the
    coroutine is for."""
    first = ""
    bindings = 0
    size = len(word)
    start = text.find(word)
    while start != -1:
        end = start + size
        before = text[start - 1 : start] if start else b""
        after = text[end : end + 1]
        if not (before.isalnum() or before in (b"_", b".") or after.isalnum() or after == b"_"):
            rest = text[end : end + 80].lstrip(b" \t")
            head = rest[:1]
            if head == b".":
                found = _ATTRIBUTE.match(rest)
                attr = found.group(1).decode() if found else ""
                if not attr or coroutine_protocol(attr):
                    return ""
                first = first or f".{attr}"
            elif head == b"[":
                first = first or "["
            elif head == b"(":
                if text[max(0, start - 4) : start].rstrip(b" \t").endswith(b"def"):
                    return ""  # `def word(`: another function of that name
                first = first or "("
            elif head == b"=" and rest[1:2] != b"=":
                bindings += 1
                if bindings > 1:
                    return ""
            elif (operator := _OPERATOR.match(rest)) is not None:
                if operator.group(2) is not None:  # `c += 1`: TypeError, and a rebinding
                    first = first or f" {operator.group(2).decode()}"
                else:
                    first = first or f" {operator.group(1).decode()}"
            elif (test := _BEFORE.search(text, max(0, start - 12), start)) is not None and _TEST_END.match(rest):
                line = text[text.rfind(b"\n", 0, start) + 1 : start].lstrip(b" \t")
                if test.group(1) != b"in":
                    first = first or " if"
                elif line.startswith(b"for ") and rest[:1] == b":":
                    first = first or " for"  # `for x in c:`
                elif line.startswith(b"async ") or b" for " in line:
                    return ""  # `async for x in c`: an async iterable may be wanted; a comprehension's
                else:
                    first = first or " in"
            elif head in (b"}", b"!") and text[:start].rstrip(b" \t").endswith(b"{") and _in_fstring(text, start):
                first = first or " {"
            else:
                return ""
        start = text.find(word, end)
    return first if bindings == 1 else ""


def _in_fstring(text: bytes, start: int) -> bool:
    """Whether the line up to ``start`` opens an f-string (`f"...{c}"`): `{c}` elsewhere is a set display."""
    line = text[text.rfind(b"\n", 0, start) + 1 : start]
    return any(prefix in line for prefix in (b'f"', b"f'", b'F"', b"F'"))


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


def collect(
    path: str, module: str, is_package: bool, data: bytes, target: Target | None = None, sites: bool = True
) -> ModuleFacts:
    """Facts of one file. Raises ``SourceError`` when it cannot be parsed.

    ``target`` decides `sys.version_info`/`sys.platform` branches of stub files (else both are read).
    ``sites=False`` leaves out what only judging the file itself needs (its sites: searching
    expressions is most of the walk): for a library module, read only to resolve names into it.
    """
    tree = parse(data, path)
    collector = _Collector(path, module, is_package, data, target, sites)
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
