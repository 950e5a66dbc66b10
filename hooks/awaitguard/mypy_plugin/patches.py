"""AG201/AG202: a test double whose awaitability differs from the target it replaces.

Handles ``unittest.mock.patch(...)``, ``patch.object``, ``patch.multiple``, pytest-mock's
``mocker.patch`` twins and pytest's ``monkeypatch.setattr`` (both of its forms; the receiver must
be typed ``pytest.MonkeyPatch``: an unannotated fixture parameter is ``Any`` to mypy). Targets are
resolved through mypy's symbol tables; the modules named by target strings are loaded through
``get_additional_deps``. Each replaced name becomes a ``patching.PatchCall`` of what the types say;
``patching.judge`` decides, as for the scan and the smoke run.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TypeGuard

from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    CallExpr,
    Decorator,
    Expression,
    FuncDef,
    LambdaExpr,
    MemberExpr,
    NameExpr,
    RefExpr,
    StrExpr,
    SymbolNode,
    TypeInfo,
)
from mypy.plugin import MethodContext
from mypy.types import CallableType, Instance, Type, TypeType, get_proper_type

from awaitguard.mypy_plugin.emit import emit
from awaitguard.mypy_plugin.kinds import (
    ASYNC_MOCK,
    DEFAULT_SENTINEL,
    MOCK_BASE,
    call_awaitable,
    node_awaitable,
    node_kind,
    value_awaitable,
)
from awaitguard.mypy_plugin.services import Services
from awaitguard.patching import ABSENT, Configured, Double, Form, PatchCall, TargetDef, judge
from awaitguard.rules._base import definition_note
from awaitguard.rules.doubles import meta_of

# form -> positional parameter names, as in unittest.mock and pytest_mock.
POSITIONAL = {
    "patch": ("target", "new", "spec", "create", "spec_set", "autospec", "new_callable"),
    "object": ("target", "attribute", "new", "spec", "create", "spec_set", "autospec", "new_callable"),
    "multiple": ("target", "spec", "create", "spec_set", "autospec", "new_callable"),
    # monkeypatch.setattr(obj, "name", value) or monkeypatch.setattr("pkg.mod.name", value)
    "setattr": ("target", "attribute", "new", "raising"),
}
NON_DOUBLE_KEYS = frozenset(POSITIONAL["object"])


def _bind(call: CallExpr, form: str) -> dict[str, Expression] | None:
    names = POSITIONAL[form]
    bound: dict[str, Expression] = {}
    position = 0
    for arg, kind, name in zip(call.args, call.arg_kinds, call.arg_names, strict=True):
        if kind == ARG_POS and position < len(names):
            bound[names[position]] = arg
            position += 1
        elif kind == ARG_NAMED and name is not None:
            bound[name] = arg
        else:
            return None  # *args / **kwargs: cannot tell what is passed
    return bound


def _truthy(expr: Expression | None) -> bool:
    if expr is None:
        return False
    return not (isinstance(expr, NameExpr) and expr.fullname in ("builtins.None", "builtins.False"))


def _label(expr: Expression) -> str:
    if isinstance(expr, CallExpr):
        return _label(expr.callee) + "(...)"
    if isinstance(expr, MemberExpr):
        return _label(expr.expr) + "." + expr.name
    if isinstance(expr, NameExpr):
        return expr.name
    if isinstance(expr, LambdaExpr):
        return "lambda"
    return "the double"


def _mock_class(typ: Type) -> bool | None:
    """For ``new_callable=``: does the class build an awaitable-when-called double?"""
    proper = get_proper_type(typ)
    instance: Type | None = None
    if isinstance(proper, CallableType) and proper.is_type_obj():
        instance = proper.ret_type
    elif isinstance(proper, TypeType):
        instance = proper.item
    instance = get_proper_type(instance) if instance is not None else None
    if isinstance(instance, Instance):
        if instance.type.has_base(ASYNC_MOCK):
            return True
        if instance.type.has_base(MOCK_BASE):
            return False
    return None


def _builds_mock(expr: Expression) -> TypeGuard[CallExpr]:
    """``Mock(...)`` / ``mock.MagicMock(...)``: the class itself called, not a helper returning a mock."""
    if not isinstance(expr, CallExpr) or not isinstance(expr.callee, RefExpr):
        return False
    node = expr.callee.node
    return isinstance(node, TypeInfo) and node.has_base(MOCK_BASE)


def _double(services: Services, ctx: MethodContext, expr: Expression, is_class: bool) -> Double:
    if isinstance(expr, RefExpr) and expr.fullname == DEFAULT_SENTINEL:
        return Double(None)
    typ = ctx.api.get_expression_type(expr)
    if is_class:
        built = _mock_class(typ)
        return Double(built, mock=built is False)
    proper = get_proper_type(typ)
    sync_mock = isinstance(proper, Instance) and proper.type.has_base(MOCK_BASE)
    if sync_mock and not (isinstance(proper, Instance) and proper.type.has_base(ASYNC_MOCK)):
        # a mock a helper builds (``make_conn()`` typed ``-> Mock``) may have been configured to hand
        # back an awaitable: only a ``Mock(...)`` built here says what its call gives
        if not _builds_mock(expr):
            return Double(None)
        given = dict(zip(expr.arg_names, expr.args, strict=True))
        if None in given or any(key in given for key in ("spec", "spec_set", "wraps")):
            # built from a spec (keyword or positional) or wrapping a callable, the mock mirrors it: its
            # call gives a coroutine when the spec is an `async def`
            return Double(None)
        side_effect: Configured = ABSENT
        return_value: Configured = ABSENT
        if "side_effect" in given:  # a function's result; an exception or a list of values: unknown
            side_effect = call_awaitable(services, ctx.api.get_expression_type(given["side_effect"]))
        if "return_value" in given:
            return_value = value_awaitable(ctx.api.get_expression_type(given["return_value"]))
        return Double(False, mock=True, side_effect=side_effect, return_value=return_value)
    node = expr.node if isinstance(expr, RefExpr) else None
    node = node.func if isinstance(node, Decorator) else node
    if isinstance(node, FuncDef) and services.never_returns(node.fullname, node.line, ctx.api.path):
        return Double(None)  # it fails the test when called (`pytest.fail(...)`): nothing awaits what it gives
    return Double(call_awaitable(services, typ))


def _member(services: Services, ctx: MethodContext, owner: Expression, name: str) -> tuple[str, SymbolNode | None]:
    if isinstance(owner, StrExpr):
        fullname = f"{owner.value}.{name}"
        symbol = services.lookup(fullname)
        return fullname, symbol.node if symbol is not None else None
    proper = get_proper_type(ctx.api.get_expression_type(owner))
    info: TypeInfo | None = None
    if isinstance(proper, Instance) and proper.extra_attrs and proper.extra_attrs.mod_name:
        fullname = f"{proper.extra_attrs.mod_name}.{name}"
        symbol = services.lookup(fullname)
        return fullname, symbol.node if symbol is not None else None
    if isinstance(proper, CallableType) and proper.is_type_obj():
        info = proper.type_object()
    elif isinstance(proper, TypeType) and isinstance(proper.item, Instance):
        info = proper.item.type
    elif isinstance(proper, Instance):
        info = proper.type
    if info is None:
        return name, None
    symbol = info.get(name)
    return f"{info.fullname}.{name}", symbol.node if symbol is not None else None


def _pairs(
    services: Services, ctx: MethodContext, form: str, bound: dict[str, Expression]
) -> Iterator[tuple[str, SymbolNode | None, Expression, bool]]:
    """(target fullname, target node, double expression, double is a class) per replaced name."""
    target = bound.get("target")
    if target is None:
        return
    if form == "multiple":
        call = ctx.context
        assert isinstance(call, CallExpr)
        for arg, name in zip(call.args, call.arg_names, strict=True):
            if name is not None and name not in NON_DOUBLE_KEYS:
                yield (*_member(services, ctx, target, name), arg, False)
        return
    if form == "setattr" and isinstance(target, StrExpr) and "new" not in bound and "attribute" in bound:
        symbol = services.lookup(target.value)  # the dotted-string form: the value is the second argument
        yield target.value, symbol.node if symbol is not None else None, bound["attribute"], False
        return
    if form in ("object", "setattr"):
        attribute = bound.get("attribute")
        if not isinstance(attribute, StrExpr):
            return
        fullname, node = _member(services, ctx, target, attribute.value)
    else:
        if not isinstance(target, StrExpr):
            return
        fullname = target.value
        symbol = services.lookup(fullname)
        node = symbol.node if symbol is not None else None
    if "new" in bound:
        yield fullname, node, bound["new"], False
    elif "new_callable" in bound:
        yield fullname, node, bound["new_callable"], True


def _production_awaits(services: Services, name: str) -> bool:
    """Whether the project's code outside its tests awaits a call of ``name`` (the scanner's search)."""
    return services.project.resolver.production_awaits(name)


_FORMS: dict[str, Form] = {
    "patch": "patch",
    "object": "patch.object",
    "multiple": "patch.multiple",
    "setattr": "monkeypatch.setattr",
}
_DEFINED: dict[str, TargetDef] = {"async def": "async def", "def": "def"}


def check_patch(services: Services, form: str, ctx: MethodContext) -> Type:
    call = ctx.context
    bound = _bind(call, form) if isinstance(call, CallExpr) else None
    if bound is None:
        return ctx.default_return_type
    spec = any(_truthy(bound.get(key)) for key in ("autospec", "spec", "spec_set"))
    for fullname, node, expr, is_class in _pairs(services, ctx, form, bound):
        kind = node_kind(node)
        # with a spec, mock builds the double from the target: what it is was not passed
        double = Double(None) if spec else _double(services, ctx, expr, is_class)
        name = fullname.rpartition(".")[2]
        record = PatchCall(
            form=_FORMS[form],
            target=fullname,
            double=("new_callable=" if is_class else "") + _label(expr),
            target_awaitable=node_awaitable(services, node),
            double_awaitable=double.awaitable,
            target_def=_DEFINED.get(kind, ""),
            spec=spec,
            mock=double.mock,
            side_effect=double.side_effect,
            return_value=double.return_value,
            # the test sets what the double returns (a future, say) after patching
            configured_later=double.mock and services.configured_later(ctx.api.path, call.line),
        )
        verdict = judge(record, partial(_production_awaits, services, name))
        if verdict.kind is None:
            continue
        definition = node.func if isinstance(node, Decorator) else node
        # the definition's own module and line: a target re-exported by ``from impl import name``
        # is patched where it is used, but defined in ``impl``
        own = getattr(definition, "fullname", "") or fullname
        where = services.where(
            own, definition.line if definition else 0, kind == "async def" if kind != "defined" else None
        )
        note = (definition_note(name, kind), where)
        code = meta_of(verdict.kind).code
        emit(services, ctx.api, code, call, {"double": record.double, "target": record.target}, [note])
    return ctx.default_return_type


__all__ = ["check_patch"]
