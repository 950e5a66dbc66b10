"""One walk per module: definitions, imports, bindings and the sites rules judge.

The walk visits statements, not every expression node: expressions are only searched where a
rule can fire (``await`` lives in async functions, patches in files that mention them).

``_Collector`` is the walk: a handler per statement type (pyflakes' habit), a scope stack, and
the sites it records. Its handlers live in parts, one module each (``walking.py`` says how they
fit): ``definitions.py``, ``statements.py`` and ``expressions.py``; ``hotlines.py`` says which
lines the expression search may skip; ``exprrefs.py``, ``resultuse.py`` and ``conditions.py``
hold what the handlers compute from a node or a text.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from typing import Any

from awaitguard.conditions import Target
from awaitguard.definitions import Definitions
from awaitguard.expressions import Expressions
from awaitguard.hotlines import HotLines
from awaitguard.layout import is_test_code
from awaitguard.model import (
    UNKNOWN_REF,
    DefFact,
    ImportFact,
    ModuleFacts,
    Ref,
    ScopeFact,
    Site,
)
from awaitguard.rewrites import MARKERS as REWRITE_MARKERS
from awaitguard.rewrites import rewritten
from awaitguard.source import SourceError, parse
from awaitguard.statements import Statements
from awaitguard.suppress import suppressions
from awaitguard.walking import Scope

__all__ = ["Target", "collect", "strict_ast"]


def strict_ast() -> bool:
    """An unknown statement type fails the walk (the test suite sets ``AWAITGUARD_STRICT_AST=1``), read
    at each use, so setting it after import counts; users get silence."""
    return os.environ.get("AWAITGUARD_STRICT_AST") == "1"


class _Collector(Definitions, Statements, Expressions):
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
        self.gate = HotLines(data, len(self.lines))  # which lines the expression search may skip
        self.assigns_doubles = sites and b"Mock" in data and is_test_code(path)
        self.defs: list[DefFact] = []
        self.imports: list[ImportFact] = []
        self.star: list[str] = []
        self.all_names: tuple[str, ...] | None = None
        self.scopes: list[ScopeFact] = []
        self.sites: list[Site] = []
        self.guarded = 0
        self.expects_error = 0
        self.stack: list[Scope] = [Scope("", "module", cold=not sites)]
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
        if type_alias is not None:  # `type X = ...`, Python 3.12+
            self.handlers[type_alias] = self._type_alias

    @property
    def scope(self) -> Scope:
        return self.stack[-1]

    def function_scope(self) -> Scope:
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

    def finish(self) -> tuple[tuple[str, Ref], ...]:
        module_scope = self.stack[0]
        return tuple(module_scope.bindings)


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
        rewrites=rewritten(tree) if all(marker in data for marker in REWRITE_MARKERS) else (),
    )
