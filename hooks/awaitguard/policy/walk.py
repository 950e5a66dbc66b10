"""One walk of a module for the policies: every test double it builds, every call in async code.

The facts walk (``awaitguard.facts``) keeps only the patches a kind mismatch can make wrong and
the calls whose results are dropped or awaited; a policy needs more: *every* double in a test
path (``autospec`` or not, no ``new`` given), and *every* call inside an ``async def``.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from awaitguard.model import Ref
from awaitguard.refs import MOCK_CLASSES, dotted, ref_of

# keywords of patch.multiple that configure it, rather than name an attribute it replaces
_MULTIPLE_OPTIONS = frozenset({"create", "spec", "spec_set", "autospec", "new_callable"})


# the last name of every call ``_double`` looks at (`patch.object` ends in `object`)
_DOUBLE_CALLS = frozenset({"patch", "object", "multiple", "setattr", "create_autospec"} | MOCK_CLASSES)
# a literal put in place of an attribute: a setting changed for the test, not a test double
_SETTINGS = (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr)


class Double(NamedTuple):
    """A test double over a target: ``target`` dotted (``patch("a.b")``), or ``attr`` of ``owner``."""

    line: int
    col: int
    scope: str  # the enclosing function's qualname, as the facts name it ("" = module level)
    form: str  # patch | patch.object | patch.multiple | monkeypatch.setattr | create_autospec | Mock(spec=...)
    shown: str  # the call, as written (shortened)
    target: str = ""  # a dotted target as written
    owner: Ref = ()  # the object whose ``attr`` is replaced (patch.object, setattr(obj, ...)), or the spec
    attr: str = ""


class Call(NamedTuple):
    """A call made directly in an ``async def`` (not in a nested ``def`` or ``lambda``)."""

    line: int
    col: int
    scope: str
    ref: Ref  # the callee
    name: str  # the callee's own name (``get_manager`` for ``self.deps.get_manager``), or ""
    head: str  # the callee as written, when it is a dotted name (``self.deps.get_manager``), else ""
    awaited: bool  # the call is the operand of ``await`` (or passed to a thread/executor runner)


def _shown(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 80 else text[:77] + "..."


def _string(node: ast.expr | None) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


class Walker:
    """Collects ``doubles`` (when ``want_doubles``) and ``calls`` in async defs (when ``want_calls``)."""

    def __init__(self, want_doubles: bool, want_calls: bool) -> None:
        self.want_doubles = want_doubles
        self.want_calls = want_calls
        self.doubles: list[Double] = []
        self.calls: list[Call] = []

    def module(self, tree: ast.Module) -> None:
        self._body(tree.body, "", "", False)

    def _body(self, nodes: list[ast.stmt], scope: str, cls: str, is_async: bool) -> None:
        for node in nodes:
            self._node(node, scope, cls, is_async)

    def _node(self, node: ast.AST, scope: str, cls: str, is_async: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                self._node(dec, scope, cls, is_async)
            for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)):
                self._node(default, scope, cls, is_async)
            if cls:
                qualname = f"{cls}.{node.name}"
            else:
                qualname = f"{scope}.<locals>.{node.name}" if scope else node.name
            self._body(node.body, qualname, "", isinstance(node, ast.AsyncFunctionDef))
            return
        if isinstance(node, ast.ClassDef):
            for dec in node.decorator_list:
                self._node(dec, scope, cls, is_async)
            inner = f"{cls}.{node.name}" if cls else (f"{scope}.<locals>.{node.name}" if scope else node.name)
            for stmt in node.body:
                self._node(stmt, scope, inner, False)
            return
        if isinstance(node, ast.Lambda):
            self._node(node.body, scope, cls, False)
            return
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            if self.want_doubles:
                self._double(node.value, scope)
            if self.want_calls and is_async and not cls:
                self._call(node.value, scope, True)
            for child in ast.iter_child_nodes(node.value):
                self._node(child, scope, cls, is_async)
            return
        if isinstance(node, ast.Call):
            if self.want_doubles:
                self._double(node, scope)
            if self.want_calls and is_async and not cls:
                self._call(node, scope, False)
        for child in ast.iter_child_nodes(node):
            self._node(child, scope, cls, is_async)

    # -- calls in async code ---------------------------------------------------------------------
    def _call(self, call: ast.Call, scope: str, awaited: bool) -> None:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        ref = ref_of(func)
        self.calls.append(Call(call.lineno, call.col_offset + 1, scope, ref, name, dotted(func), awaited))

    # -- test doubles ----------------------------------------------------------------------------
    def _double(self, call: ast.Call, scope: str) -> None:
        name = dotted(call.func)
        if not name:
            return
        tail = name.split(".")
        if tail[-1] not in _DOUBLE_CALLS:
            return
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        args = call.args
        at = (call.lineno, call.col_offset + 1, scope)
        shown = _shown(call)
        new = keywords.get("new")
        if tail[-1] == "patch" and len(args) >= 2:
            new = args[1]
        elif tail[-2:] == ["patch", "object"] and len(args) >= 3:
            new = args[2]
        elif tail[-1] == "setattr":
            new = args[-1] if len(args) in (2, 3) else None
        if isinstance(new, _SETTINGS) and not (isinstance(new, ast.Constant) and new.value is None):
            return  # a setting changed (`patch("app.FLAG", True)`, `[]`), not a double
        if tail[-1] == "patch" and args and _string(args[0]):
            self.doubles.append(Double(*at, "patch", shown, target=_string(args[0])))
        elif tail[-2:] == ["patch", "object"] and len(args) >= 2 and _string(args[1]):
            self.doubles.append(Double(*at, "patch.object", shown, owner=ref_of(args[0]), attr=_string(args[1])))
        elif tail[-2:] == ["patch", "multiple"] and args:
            for key in keywords:
                if key in _MULTIPLE_OPTIONS:
                    continue
                if _string(args[0]):
                    self.doubles.append(Double(*at, "patch.multiple", shown, target=f"{_string(args[0])}.{key}"))
                else:
                    self.doubles.append(Double(*at, "patch.multiple", shown, owner=ref_of(args[0]), attr=key))
        elif tail[-1] == "setattr" and name != "setattr" and "monkeypatch" in name:
            if len(args) == 2 and _string(args[0]):
                self.doubles.append(Double(*at, "monkeypatch.setattr", shown, target=_string(args[0])))
            elif len(args) >= 3 and _string(args[1]):
                owner = ref_of(args[0])
                self.doubles.append(Double(*at, "monkeypatch.setattr", shown, owner=owner, attr=_string(args[1])))
        elif tail[-1] == "create_autospec" and (args or "spec" in keywords):
            spec = args[0] if args else keywords["spec"]
            self._spec(spec, at, "create_autospec", shown)
        elif tail[-1] in MOCK_CLASSES:
            given = keywords.get("spec", keywords.get("spec_set", args[0] if args else None))
            if given is not None and not isinstance(given, (ast.List, ast.Tuple, ast.Constant)):
                self._spec(given, at, f"{tail[-1]}(spec=...)", shown)

    def _spec(self, spec: ast.expr, at: tuple[int, int, str], form: str, shown: str) -> None:
        if isinstance(spec, ast.Call):  # an instance given as the spec: its class is the target
            spec = spec.func
        ref = ref_of(spec)
        if ref:
            self.doubles.append(Double(*at, form, shown, owner=ref))


def walk(tree: ast.Module, doubles: bool, calls: bool) -> Walker:
    walker = Walker(doubles, calls)
    walker.module(tree)
    return walker
