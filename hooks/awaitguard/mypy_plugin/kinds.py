"""Awaitability from mypy's types and symbol nodes: True awaitable, False not, None unknown."""

from __future__ import annotations

from typing import Literal

from mypy.nodes import Decorator, FuncDef, OverloadedFuncDef, SymbolNode, TypeInfo, Var
from mypy.types import (
    AnyType,
    CallableType,
    Instance,
    NoneType,
    Overloaded,
    TupleType,
    Type,
    TypedDictType,
    TypeType,
    UnionType,
    get_proper_type,
)

from awaitguard.mypy_plugin.services import Services

ASYNC_MOCK = "unittest.mock.AsyncMock"
MOCK_BASE = "unittest.mock.NonCallableMock"
DEFAULT_SENTINEL = "unittest.mock.DEFAULT"
_AWAITABLE = frozenset({"typing.Awaitable", "typing.Coroutine", "asyncio.futures.Future", "asyncio.tasks.Task"})


def _combine(verdicts: list[bool | None]) -> bool | None:
    if verdicts and all(v is True for v in verdicts):
        return True
    if verdicts and all(v is False for v in verdicts):
        return False
    return None


def value_awaitable(typ: Type) -> bool | None:
    """Is a value of this type awaitable?"""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance):
        if proper.type.fullname in _AWAITABLE or proper.type.has_readable_member("__await__"):
            return True
        if proper.type.has_base(MOCK_BASE) or proper.type.fullname == "builtins.object":
            return None  # mocks grow any attribute; object may be anything
        return False
    if isinstance(proper, UnionType):
        return _combine([value_awaitable(item) for item in proper.items])
    if isinstance(proper, (NoneType, CallableType, Overloaded, TupleType, TypedDictType, TypeType)):
        return False
    return None


def plain_def(services: Services, func: FuncDef) -> bool:
    """An unannotated sync ``def`` whose body provably returns no awaitable (``awaitguard.resolve`` decides)."""
    if func.is_coroutine or func.is_generator or func.is_async_generator:
        return False
    return services.plain_callee(func.fullname) is not None


def call_awaitable(services: Services, typ: Type) -> bool | None:
    """Is the result of calling a value of this type awaitable?"""
    proper = get_proper_type(typ)
    if isinstance(proper, CallableType):
        if proper.is_type_obj():
            return None
        ret = get_proper_type(proper.ret_type)
        if isinstance(ret, AnyType):
            definition = proper.definition
            if isinstance(definition, FuncDef):
                if definition.is_coroutine:
                    return True
                if plain_def(services, definition):
                    return False
            return None
        return value_awaitable(ret)
    if isinstance(proper, Overloaded):
        return _combine([call_awaitable(services, item) for item in proper.items])
    if isinstance(proper, Instance):
        if proper.type.has_base(ASYNC_MOCK):
            return True
        if proper.type.has_base(MOCK_BASE):
            return False
        call = proper.type.get("__call__")
        if call is not None:
            return node_awaitable(services, call.node)
    return None


def node_awaitable(services: Services, node: SymbolNode | None) -> bool | None:
    """Is the result of calling the definition ``node`` awaitable?"""
    if isinstance(node, FuncDef):
        if node.is_coroutine:
            return True
        if node.type is None:
            return False if plain_def(services, node) else None
        return call_awaitable(services, node.type)
    if isinstance(node, Decorator):
        if node.var.type is not None:
            return call_awaitable(services, node.var.type)
        return True if node.func.is_coroutine and not node.decorators else None
    if isinstance(node, OverloadedFuncDef) and node.type is not None:
        return call_awaitable(services, node.type)
    if isinstance(node, Var) and node.type is not None:
        return call_awaitable(services, node.type)
    if isinstance(node, TypeInfo):
        return None
    return None


def node_kind(node: SymbolNode | None) -> Literal["async def", "def", "defined"]:
    if isinstance(node, Decorator):
        node = node.func
    if isinstance(node, FuncDef):
        return "async def" if node.is_coroutine else "def"
    return "defined"


__all__ = [
    "ASYNC_MOCK",
    "DEFAULT_SENTINEL",
    "MOCK_BASE",
    "call_awaitable",
    "node_awaitable",
    "node_kind",
    "plain_def",
    "value_awaitable",
]
