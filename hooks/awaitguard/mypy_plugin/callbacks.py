"""Hook callbacks: dynamic imports, ``getattr`` literals, awaits of plain unannotated ``def``s,
plus the plugin-wide ``get_additional_deps`` and ``report_config_data`` answers."""

from __future__ import annotations

from typing import Any

from mypy.nodes import CallExpr, FuncDef, MemberExpr, MypyFile, StrExpr
from mypy.plugin import AttributeContext, FunctionContext, MethodContext, ReportConfigContext
from mypy.types import AnyType, CallableType, Instance, Type, TypeType, get_proper_type

import awaitguard
from awaitguard.mypy_plugin.emit import emit
from awaitguard.mypy_plugin.kinds import plain_def
from awaitguard.mypy_plugin.services import Services, base_dir, is_third_party
from awaitguard.rules._base import definition_note, definition_related
from awaitguard.rules.awaits import AG101, await_words

DEP_PRIORITY = 10  # as mypy's PRI_MED: a top-level ``import X``


def _literal_arg(ctx: FunctionContext, index: int) -> str | None:
    if len(ctx.args) <= index or len(ctx.args[index]) != 1:
        return None
    expr = ctx.args[index][0]
    return expr.value if isinstance(expr, StrExpr) else None


def _module_type(services: Services, ctx: FunctionContext, module_id: str) -> Type:
    module = services.modules.get(module_id)
    expr_checker = getattr(ctx.api, "expr_checker", None)
    build = getattr(expr_checker, "module_type", None)
    if module is None or build is None:
        return ctx.default_return_type
    result = build(module)
    return result if isinstance(result, Instance) else ctx.default_return_type


def import_module(services: Services, ctx: FunctionContext) -> Type:
    """``importlib.import_module("pkg.mod")`` is the module ``pkg.mod``."""
    name = _literal_arg(ctx, 0)
    if name is None or name.startswith("."):
        return ctx.default_return_type
    return _module_type(services, ctx, name)


def dunder_import(services: Services, ctx: FunctionContext) -> Type:
    """``__import__("a.b")`` is ``a``; with a non-empty ``fromlist`` it is ``a.b``."""
    name = _literal_arg(ctx, 0)
    if name is None or name.startswith("."):
        return ctx.default_return_type
    fromlist = ctx.args[3] if len(ctx.args) > 3 else []
    return _module_type(services, ctx, name if fromlist else name.partition(".")[0])


def module_attribute(ctx: AttributeContext) -> Type:
    """``mod.name`` on a module typed by ``import_module``: mypy resolves it through
    ``ModuleType.__getattr__`` (``Any``) unless the base is a module reference, so look it up here."""
    owner = get_proper_type(ctx.type)
    context = ctx.context
    if isinstance(owner, Instance) and owner.extra_attrs and isinstance(context, MemberExpr):
        return owner.extra_attrs.attrs.get(context.name, ctx.default_attr_type)
    return ctx.default_attr_type


def getattr_literal(services: Services, ctx: FunctionContext) -> Type:
    """Two-argument ``getattr(obj, "name")`` is ``obj.name`` when that attribute exists."""
    name = _literal_arg(ctx, 1)
    if name is None or (len(ctx.args) > 2 and ctx.args[2]) or not ctx.arg_types or not ctx.arg_types[0]:
        return ctx.default_return_type
    owner = get_proper_type(ctx.arg_types[0][0])
    if isinstance(owner, Instance) and owner.extra_attrs and owner.extra_attrs.mod_name:
        return owner.extra_attrs.attrs.get(name, ctx.default_return_type)
    info = None
    if isinstance(owner, Instance):
        info = owner.type
    elif isinstance(owner, TypeType) and isinstance(owner.item, Instance):
        info = owner.item.type
    elif isinstance(owner, CallableType) and owner.is_type_obj():
        info = owner.type_object()
    if info is None or info.get(name) is None:
        return ctx.default_return_type
    member = MemberExpr(ctx.args[0][0], name)
    member.set_line(ctx.context)
    return ctx.api.get_expression_type(member)


def plain_callee(services: Services, fullname: str) -> bool:
    """Is ``fullname`` an unannotated plain ``def`` returning no awaitable? (hook routing test)

    Hooks are only claimed for such callees: mypy asks plugins in order and takes the first
    callback, so claiming every fullname would hide other plugins' hooks.
    """
    symbol = services.lookup(fullname) if "." in fullname else None
    return symbol is not None and isinstance(symbol.node, FuncDef) and plain_def(services, symbol.node)


def await_plain_call(services: Services, fullname: str, ctx: FunctionContext | MethodContext) -> Type:
    """``await f()`` where ``f`` is an unannotated plain ``def`` that returns no awaitable."""
    default = ctx.default_return_type
    call = ctx.context
    if not isinstance(get_proper_type(default), AnyType) or not isinstance(call, CallExpr):
        return default
    site = services.project.awaited(ctx.api.path, call.line, call.column, fullname.rpartition(".")[2])
    callee = services.plain_callee(fullname)
    if site is None or callee is None:
        return default
    # the scanner's AG101 arguments: what is awaited and the fix come from the same ``Value``
    notes = [(r.note, f"{r.path}:{r.line}:{r.col}") for r in definition_related(callee.function)]
    sibling = services.project.sibling(callee)
    if sibling is not None:
        notes.append((definition_note(sibling[0], "async def"), sibling[1]))
    words = await_words(callee.result, callee.function.qualname)
    if words is None:
        return default
    args = {"expr": site.shown, **words}
    emit(services, ctx.api, AG101.code, call, args, notes, col=site.col)  # at the `await`, as the scan
    return default


def additional_deps(services: Services, file: MypyFile) -> list[tuple[int, str, int]]:
    """Modules named by ``import_module``/``__import__``/``patch`` literals, if they exist on disk."""
    if not file.path or not file.path.endswith(".py") or is_third_party(file.path):
        return []
    root = base_dir(file.fullname, file.path)
    deps: dict[str, int] = {}
    for dotted, line in services.project.dependencies(file.path, file.fullname):
        found = services.resolve_dotted(dotted, root)
        if found is not None and found[0] != file.fullname:
            deps.setdefault(found[0], line)
    return [(DEP_PRIORITY, module_id, line) for module_id, line in sorted(deps.items())]


def config_data(services: Services, ctx: ReportConfigContext) -> dict[str, Any]:
    """Cache key: versions, stubs, options, and the ``ast`` facts of the modules this one reaches.

    mypy re-checks a module when an import's interface changes, but an unannotated ``def``'s body
    is not part of its interface: the digest makes such an edit invalidate this module's cache.
    """
    data: dict[str, Any] = {
        "awaitguard": awaitguard.__version__,
        "stubs": services.stubs_hash(),
        "config": services.config.data(),
        "data": services.data,  # the findings' notes differ: a plain run's cache is not the hook's
    }
    if not ctx.path.endswith(".py") or is_third_party(ctx.path):
        return data
    root = base_dir(ctx.id, ctx.path)
    digests: dict[str, str] = {}
    for dotted in {name for name, _ in services.project.dependencies(ctx.path)}:
        found = services.resolve_dotted(dotted, root)
        if found is not None and found[1].endswith(".py") and not is_third_party(found[1]):
            digests[found[0]] = services.project.digest(found[1])
    data["facts"] = sorted(digests.items())
    return data


__all__ = [
    "additional_deps",
    "await_plain_call",
    "config_data",
    "dunder_import",
    "getattr_literal",
    "import_module",
    "plain_callee",
]
