"""Calls whose declared type says less than the run time does: their type is corrected, or made
unknown, so that mypy reports no async misuse the program does not have.

- An async generator declared ``-> Iterator[T]`` (or any type without ``__aiter__``): the annotation
  is wrong, the callers' ``async for`` is right. Calls to it are typed ``AsyncIterator[T]`` (so a
  caller's ``for`` over it is still reported).
- An abstract or placeholder ``async def`` method declared ``-> AsyncIterator[T]``: implemented
  by async generators (a call gives the iterator) or coroutines (a call gives a coroutine), so a
  call is ``Any``.
- An unannotated ``async def`` method with a placeholder body (``raise NotImplementedError``): the
  overrides decide what a call gives (an async generator, say), so a call to it is ``Any``.
- An overloaded method whose items differ in awaitability and are chosen by the type of ``self``
  (a sync and an async client sharing one mixin): when the receiver matches no item's ``self`` type
  (mypy falls back to the first item), or matches a sync and an async item (their order decides),
  the call is ``Any``.
- A method of such a shared command layer declared with the sync result (``-> int``) whose body
  returns ``self.execute_command(...)``, typed as maybe awaitable: the call is ``Any``.
"""

from __future__ import annotations

from mypy.nodes import NOT_ABSTRACT, Decorator, FakeInfo, FuncDef, OverloadedFuncDef, SymbolNode, TypeInfo
from mypy.plugin import FunctionSigContext, MethodContext, MethodSigContext
from mypy.subtypes import is_subtype
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    Overloaded,
    Type,
    TypeOfAny,
    UnionType,
    get_proper_type,
)

from awaitguard.mypy_plugin.kinds import call_awaitable, node_awaitable, value_awaitable
from awaitguard.mypy_plugin.services import Services

ASYNC_ITER = "typing.AsyncIterator"


def _function(node: SymbolNode | None) -> FuncDef | None:
    if isinstance(node, Decorator):
        # staticmethod/classmethod keep the function's type; other decorators may change it
        return node.func if all(_builtin_decorator(d) for d in node.decorators) else None
    return node if isinstance(node, FuncDef) else None


def _builtin_decorator(expr: object) -> bool:
    name = getattr(expr, "fullname", "")
    return name in ("builtins.staticmethod", "builtins.classmethod")


def _member(services: Services, fullname: str) -> SymbolNode | None:
    """The definition ``fullname`` names; mypy names a method by the receiver's class, which may
    inherit it (``Sub.method`` defined in ``Base``)."""
    if "." not in fullname:
        return None
    symbol = services.lookup(fullname)
    if symbol is not None:
        return symbol.node
    owner_name, _, name = fullname.rpartition(".")
    owner = services.lookup(owner_name)
    if owner is not None and isinstance(owner.node, TypeInfo):
        inherited = owner.node.get(name)
        return inherited.node if inherited is not None else None
    return None


def misdeclared_async_generator(node: SymbolNode | None) -> bool:
    """An async generator whose declared return type has no ``__aiter__``."""
    func = _function(node)
    if func is None or not func.is_async_generator or not isinstance(func.type, CallableType):
        return False
    ret = get_proper_type(func.type.ret_type)
    return isinstance(ret, Instance) and not ret.type.has_readable_member("__aiter__")


ASYNC_ITERATOR_TYPES = frozenset({"typing.AsyncIterator", "typing.AsyncIterable", "typing.AsyncGenerator"})


def declared_async_iterator(services: Services, node: SymbolNode | None) -> bool:
    """An abstract or placeholder ``async def`` method (no ``yield``) declared ``-> AsyncIterator[T]``.
    Its implementations decide what a call gives: async generators give the iterator itself (mypy
    says a coroutine of one, and "add await" would break them), coroutines give a coroutine. Not a
    dunder (``__aenter__`` declared ``-> AsyncIterable`` is a coroutine by protocol)."""
    func = _function(node)
    if func is None or _method_of(func) is None or not func.is_coroutine or func.is_async_generator:
        return False
    if _dunder(func.name) or not isinstance(func.type, CallableType) or func.type.implicit:
        return False
    ret = get_proper_type(func.type.ret_type)
    if not isinstance(ret, Instance) or ret.type.fullname != "typing.Coroutine" or len(ret.args) != 3:
        return False
    result = get_proper_type(ret.args[2])
    if not (isinstance(result, Instance) and result.type.fullname in ASYNC_ITERATOR_TYPES):
        return False
    return _for_subclasses(services, func)


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def placeholder(services: Services, node: SymbolNode | None) -> bool:
    """An unannotated method whose body only says "a subclass implements me" (``pass``, ``...``,
    ``raise NotImplementedError``): its ``async`` says nothing about what the overrides return (an
    async generator, a coroutine...), so mypy's ``Coroutine[Any, Any, Any]`` for it is no promise."""
    func = _function(node)
    if func is None or _method_of(func) is None or not func.is_coroutine or func.is_async_generator:
        return False
    if _dunder(func.name) or not (func.type is None or (isinstance(func.type, CallableType) and func.type.implicit)):
        return False
    return _for_subclasses(services, func)


def _for_subclasses(services: Services, func: FuncDef) -> bool:
    """Abstract, or its body only says "a subclass implements me" (read from source: mypy marks
    trivial bodies on abstract methods only, and its cache keeps no bodies)."""
    if func.abstract_status != NOT_ABSTRACT or func.is_trivial_body:
        return True
    module = services.module_of(func.fullname)
    if module is None or not module.path:
        return False
    return services.placeholder_body(module.path, func.fullname[len(module.fullname) + 1 :])


def shared_command(services: Services, fullname: str, node: SymbolNode | None) -> bool:
    """A method declared with a result that is not awaitable, whose body returns a call through
    ``self`` that the host class supplies (redis-py's ``def suglen(self, key) -> int: return
    self.execute_command(...)``, a layer shared by its sync and async clients). On an async client
    the call gives a coroutine, so awaiting it works whatever the annotation says.

    The body is read with ``ast`` (mypy's cache keeps no bodies), once per file and only for a
    receiver class with ``async def`` methods or methods typed as maybe awaitable: the returned
    ``self.NAME(...)`` counts when the receiver does not define ``NAME``, or its ``NAME`` is
    awaitable or may be. A project's file and an installed package's are judged alike."""
    func = _function(node)
    if func is None or _method_of(func) is None or func.is_coroutine or not isinstance(func.type, CallableType):
        return False
    if _dunder(func.name) or call_awaitable(services, func.type) is not False:
        return False
    module = services.module_of(func.fullname)
    if module is None or not module.path:
        return False
    qualname = func.fullname[len(module.fullname) + 1 :]
    owner = _owner(services, fullname) or _method_of(func)
    if owner is None or not module.path.endswith(".py") or not _has_async_methods(services, owner):
        return False
    return any(_host_decides(services, owner, name) for name in services.self_calls_returned(module.path, qualname))


def _method_of(func: FuncDef | None) -> TypeInfo | None:
    if func is None or func.info is None or isinstance(func.info, FakeInfo):
        return None  # a module-level function
    return func.info


def _owner(services: Services, fullname: str) -> TypeInfo | None:
    symbol = services.lookup(fullname.rpartition(".")[0])
    return symbol.node if symbol is not None and isinstance(symbol.node, TypeInfo) else None


def _host_decides(services: Services, owner: TypeInfo, name: str) -> bool:
    symbol = owner.get(name)
    if symbol is None:
        return True  # supplied by the class that mixes this one in
    return node_awaitable(services, symbol.node) is not False  # the receiver's is async, or may be


def _has_async_methods(services: Services, info: TypeInfo) -> bool:
    """The class (or a base) has ``async def`` methods, or methods whose result may or may not be
    awaitable (``Awaitable[Any] | Any``): a sync-declared method's result may be what an async host
    makes of it. Memoised per class."""
    key = "class:" + info.fullname
    if key not in services.signature_kinds:
        found = False
        for base in info.mro:
            for symbol in base.names.values():
                func = _function(symbol.node)
                if func is None or not isinstance(func.type, CallableType):
                    continue
                if func.is_coroutine or (not func.is_generator and _mixed(func.type.ret_type)):
                    found = True
                    break
            if found:
                break
        services.signature_kinds[key] = "async-methods" if found else ""
    return services.signature_kinds[key] == "async-methods"


def _mixed(typ: Type) -> bool:
    proper = get_proper_type(typ)
    if not isinstance(proper, UnionType):
        return False
    verdicts = {value_awaitable(item) for item in proper.items}
    return True in verdicts and len(verdicts) > 1


def dual_overload(services: Services, node: SymbolNode | None) -> bool:
    """An overloaded method whose items do not agree on whether the call is awaitable."""
    if not isinstance(node, OverloadedFuncDef) or not isinstance(node.type, Overloaded):
        return False
    verdicts = {call_awaitable(services, item) for item in node.type.items}
    return True in verdicts and False in verdicts


def signature_hook(services: Services, fullname: str) -> str:
    """Which correction a call of ``fullname`` needs: ``async-iterator``, ``unknown`` or ''. Memoised
    per build (mypy asks for every call it checks)."""
    kinds = services.signature_kinds
    if fullname not in kinds:
        node = _member(services, fullname)
        if misdeclared_async_generator(node):
            kinds[fullname] = "async-iterator"
        elif placeholder(services, node) or declared_async_iterator(services, node):
            kinds[fullname] = "unknown"
        elif shared_command(services, fullname, node):
            kinds[fullname] = "unknown"
        elif dual_overload(services, node):
            kinds[fullname] = "dual-overload"
        else:
            kinds[fullname] = ""
    return kinds[fullname]


def corrected_signature(ctx: FunctionSigContext | MethodSigContext) -> FunctionLike:
    """``-> Iterator[T]`` on an async generator: callers get ``AsyncIterator[T]``."""
    signature = ctx.default_signature
    ret = get_proper_type(signature.ret_type)
    item: Type = ret.args[0] if isinstance(ret, Instance) and ret.args else AnyType(TypeOfAny.special_form)
    return signature.copy_modified(ret_type=ctx.api.named_generic_type(ASYNC_ITER, [item]))


def unknown_result(ctx: FunctionSigContext | MethodSigContext) -> FunctionLike:
    return ctx.default_signature.copy_modified(ret_type=AnyType(TypeOfAny.special_form))


def dual_overload_call(services: Services, fullname: str, ctx: MethodContext) -> Type:
    """The result is mypy's pick only when the receiver matches one of the items' ``self`` types."""
    node = _member(services, fullname)
    if not isinstance(node, OverloadedFuncDef) or not isinstance(node.type, Overloaded):
        return ctx.default_return_type
    receiver = ctx.type
    matched = [item for item in node.type.items if item.arg_types and is_subtype(receiver, item.arg_types[0])]
    verdicts = {call_awaitable(services, item) for item in matched}
    if len(verdicts) == 1 and None not in verdicts:
        return ctx.default_return_type
    # no item fits the receiver, or a sync and an async item both do and their order decides
    return AnyType(TypeOfAny.special_form)


# signature_hook's kind -> the signature callback for mypy's function/method signature hooks
SIGNATURE_HOOKS = {
    "async-iterator": corrected_signature,
    "unknown": unknown_result,
}


__all__ = [
    "SIGNATURE_HOOKS",
    "corrected_signature",
    "declared_async_iterator",
    "dual_overload",
    "dual_overload_call",
    "misdeclared_async_generator",
    "placeholder",
    "signature_hook",
    "unknown_result",
]
