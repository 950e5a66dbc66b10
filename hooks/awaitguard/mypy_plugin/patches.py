"""AG201/AG202: a test double whose awaitability differs from the target it replaces.

Handles ``unittest.mock.patch(...)``, ``patch.object``, ``patch.multiple``, pytest-mock's
``mocker.patch`` twins and pytest's ``monkeypatch.setattr`` (both of its forms; the receiver must
be typed ``pytest.MonkeyPatch``: an unannotated fixture parameter is ``Any`` to mypy). Targets are
resolved through mypy's symbol tables; the modules named by target strings are loaded through
``get_additional_deps``. ``autospec``/``spec`` are always fine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeGuard

from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    CallExpr,
    Decorator,
    Expression,
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

from awaitguard.mypy_plugin.emit import defined_at, emit
from awaitguard.mypy_plugin.kinds import (
    ASYNC_MOCK,
    DEFAULT_SENTINEL,
    MOCK_BASE,
    call_awaitable,
    node_awaitable,
    node_kind,
)
from awaitguard.mypy_plugin.services import Services

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


def _double(services: Services, ctx: MethodContext, expr: Expression, is_class: bool) -> bool | None:
    if isinstance(expr, RefExpr) and expr.fullname == DEFAULT_SENTINEL:
        return None
    typ = ctx.api.get_expression_type(expr)
    if is_class:
        return _mock_class(typ)
    proper = get_proper_type(typ)
    sync_mock = isinstance(proper, Instance) and proper.type.has_base(MOCK_BASE)
    if sync_mock and not (isinstance(proper, Instance) and proper.type.has_base(ASYNC_MOCK)):
        # Mock(side_effect=...) / Mock(return_value=...) may well hand back an awaitable, and so may
        # a mock a helper builds (``make_conn()`` typed ``-> Mock``): the test may set its
        # ``return_value`` to a future after patching. Only a bare ``Mock()`` built here is sync.
        configured = {"side_effect", "return_value"}
        if not _builds_mock(expr) or set(filter(None, expr.arg_names)) & configured:
            return None
    return call_awaitable(services, typ)


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


def check_patch(services: Services, form: str, ctx: MethodContext) -> Type:
    call = ctx.context
    bound = _bind(call, form) if isinstance(call, CallExpr) else None
    if bound is None or any(_truthy(bound.get(key)) for key in ("autospec", "spec", "spec_set")):
        return ctx.default_return_type
    for fullname, node, expr, is_class in _pairs(services, ctx, form, bound):
        target = node_awaitable(services, node)
        double = _double(services, ctx, expr, is_class)
        if target is None or double is None or target == double:
            continue
        code = "AG201" if double else "AG202"
        if code == "AG202" and services.configured_later(ctx.api.path, call.line):
            continue  # the test sets what the double returns (a future, say) after patching
        kind = node_kind(node)
        # the message and the note agree: AG202 needs an ``async def`` target (a ``def`` returning a
        # Task, or decorated into a coroutine function, may well be replaced by a sync double), and
        # AG201 a target that is not ``async def`` (one decorated into a sync callable is left alone)
        if (code == "AG202") != (kind == "async def"):
            continue
        name = fullname.rpartition(".")[2]
        definition = node.func if isinstance(node, Decorator) else node
        # the definition's own module and line: a target re-exported by ``from impl import name``
        # is patched where it is used, but defined in ``impl``
        own = getattr(definition, "fullname", "") or fullname
        where = services.where(
            own, definition.line if definition else 0, kind == "async def" if kind != "defined" else None
        )
        note = defined_at(f"`{name}` is `{kind}` here" if kind != "defined" else f"`{name}` is defined here", where)
        label = ("new_callable=" if is_class else "") + _label(expr)
        emit(services, ctx.api, code, call, {"double": label, "target": fullname}, [note])
    return ctx.default_return_type


__all__ = ["check_patch"]
