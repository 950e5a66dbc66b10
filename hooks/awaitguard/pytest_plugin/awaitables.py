"""Runtime awaitability of live objects: the patch target and the double that replaces it.

The static scanner judges source (``awaitguard.resolve``); here the objects exist, so we ask them.
"""

from __future__ import annotations

import ast
import functools
import inspect
import types
import typing
from pathlib import Path
from unittest import mock

from awaitguard.facts import collect
from awaitguard.model import PLAIN_REF, Awaitability, DefFact, ModuleFacts
from awaitguard.patching import ABSENT, Configured, Double, PatchCall, TargetDef, double_gives
from awaitguard.refs import PLAIN_NODES
from awaitguard.source import SourceError, parse

AWAITABLE = Awaitability.AWAITABLE
NOT_AWAITABLE = Awaitability.NOT_AWAITABLE
UNKNOWN = Awaitability.UNKNOWN

# return annotations that make a plain `def` awaitable when called
_AWAITABLE_NAMES = frozenset({"Awaitable", "Coroutine", "Future", "Task", "Deferred"})


def _annotation_names(annotation: object) -> set[str]:
    """Bare names of an annotation's outer type (``Awaitable[int]`` -> {"Awaitable"})."""
    if isinstance(annotation, str):
        head = annotation.split("[", 1)[0].strip()
        return {part.strip().rsplit(".", 1)[-1] for part in head.split("|")}
    origin = typing.get_origin(annotation) or annotation
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        names: set[str] = set()
        for arg in typing.get_args(annotation):
            names |= _annotation_names(arg)
        return names
    name = getattr(origin, "__name__", None) or getattr(origin, "_name", None)
    return {str(name)} if name else set()


def _returns_awaitable(func: object) -> bool:
    annotations = getattr(func, "__annotations__", None)
    if not isinstance(annotations, dict) or "return" not in annotations:
        return False
    return bool(_annotation_names(annotations["return"]) & _AWAITABLE_NAMES)


def declared_result(func: object) -> Awaitability | None:
    """What a function's return annotation says of its result: None without one.

    AWAITABLE when a declared class (or a member of a declared union) has ``__await__``, as a class
    deriving from one that defines it; UNKNOWN when the annotation cannot be read as classes (a string
    naming what is imported only for type checking, a TypeVar, ``Any``); else NOT_AWAITABLE.
    """
    target = func.__func__ if inspect.ismethod(func) else func
    raw = getattr(target, "__annotations__", None)
    if not isinstance(raw, dict) or "return" not in raw:
        return None
    try:
        annotation = inspect.get_annotations(target, eval_str=True)["return"]  # type: ignore[arg-type]
    except Exception:  # a name imported under TYPE_CHECKING, a syntax only newer Pythons know
        return UNKNOWN
    return _declared(annotation)


def _declared(annotation: object) -> Awaitability:
    if annotation is None or annotation is type(None):
        return NOT_AWAITABLE
    origin = typing.get_origin(annotation)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        verdicts = {_declared(arg) for arg in typing.get_args(annotation)}
        return AWAITABLE if AWAITABLE in verdicts else UNKNOWN if UNKNOWN in verdicts else NOT_AWAITABLE
    if origin is not None:
        annotation = origin  # `list[int]` -> list, `Coroutine[...]` -> collections.abc.Coroutine
    if not isinstance(annotation, type):
        return UNKNOWN
    return AWAITABLE if hasattr(annotation, "__await__") else NOT_AWAITABLE


def _unwrap_descriptor(obj: object) -> object:
    if isinstance(obj, (staticmethod, classmethod)):
        return obj.__func__
    return obj


def _is_async_function(obj: object) -> bool:
    """``async def`` (also through partial, bound methods and ``functools.wraps`` chains)."""
    seen = 0
    current: object = obj
    while current is not None and seen < 20:
        seen += 1
        if inspect.iscoroutinefunction(current) or _returns_awaitable(current):
            return True
        if isinstance(current, functools.partial):
            current = current.func
        elif inspect.ismethod(current):
            current = current.__func__
        else:
            current = getattr(current, "__wrapped__", None)
    return False


def judge_target(obj: object) -> Awaitability:
    """Whether calling the real object yields an awaitable."""
    obj = _unwrap_descriptor(obj)
    if isinstance(obj, mock.NonCallableMock) or not callable(obj):
        return UNKNOWN  # already a double, or not something that is called
    if _is_async_function(obj):
        return AWAITABLE
    if inspect.isclass(obj):
        return AWAITABLE if hasattr(obj, "__await__") else NOT_AWAITABLE
    if getattr(obj, "__name__", "") == "<lambda>":
        return UNKNOWN  # a lambda may return a coroutine; its body cannot be judged here
    if inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj):
        declared = declared_result(obj)
        return NOT_AWAITABLE if declared is None else declared
    call = vars(type(obj)).get("__call__")
    return AWAITABLE if call is not None and _is_async_function(call) else UNKNOWN


def _known(verdict: Awaitability) -> bool | None:
    return None if verdict is UNKNOWN else verdict is AWAITABLE


def target_def(obj: object) -> TargetDef:
    """What the real object is defined as: "async def", "def", or "" (a class, a callable instance...)."""
    current = _unwrap_descriptor(obj)
    for _ in range(20):
        if inspect.iscoroutinefunction(current):
            return "async def"
        if isinstance(current, functools.partial):
            current = current.func
        elif inspect.ismethod(current):
            current = current.__func__
        elif getattr(current, "__wrapped__", None) is not None:
            current = current.__wrapped__  # type: ignore[attr-defined]
        else:
            break
    return "def" if inspect.isfunction(current) or inspect.isbuiltin(current) else ""


def gives(double: Double) -> bool | None:
    """What calling the double gives, its configuration taken into account."""
    return double_gives(record(double, "", "", None))[0]


def record(double: Double, target: str, shown: str, real: object) -> PatchCall:
    """The patch of ``target`` (whose object was ``real``) by ``double`` (shown as ``shown``), for
    ``patching.judge``."""
    return PatchCall(
        form="patch",
        target=target,
        double=shown,
        target_awaitable=_known(judge_target(real)),
        double_awaitable=double.awaitable,
        target_def=target_def(real),
        spec=double.spec,
        mock=double.mock,
        side_effect=double.side_effect,
        return_value=double.return_value,
    )


def double_facts(obj: object) -> Double:
    """The replacement as it is: an AsyncMock, a mock and how it is configured, a function."""
    obj = _unwrap_descriptor(obj)
    spec_mock = getattr(obj, "mock", None)
    if inspect.isfunction(obj) and isinstance(spec_mock, mock.NonCallableMock):
        return double_facts(spec_mock)  # create_autospec(function): a function around a mock
    if isinstance(obj, mock.AsyncMockMixin):
        return Double(True)
    if isinstance(obj, mock.NonCallableMock):
        if not callable(obj):
            return Double(None)
        side_effect: Configured = ABSENT
        if obj.side_effect is not None:
            # a function: what it gives; an exception or values to hand out: not judged, as in the scanner
            callable_effect = callable(obj.side_effect) and not isinstance(obj.side_effect, type)
            side_effect = gives(double_facts(obj.side_effect)) if callable_effect else None
        returned = obj._mock_return_value
        wrapped = obj._mock_wraps
        if wrapped is not None and returned is mock.DEFAULT and obj.side_effect is None:
            return double_facts(wrapped)  # `MagicMock(wraps=f)`: its call gives what f's call gives
        return_value: Configured = ABSENT if returned is mock.DEFAULT else inspect.isawaitable(returned)
        spec = obj._spec_class is not None or obj._spec_signature is not None  # mirrors the target
        return Double(False, mock=True, spec=spec, side_effect=side_effect, return_value=return_value)
    if not callable(obj):
        return Double(None)
    if _is_async_function(obj):
        return Double(True)
    if inspect.isfunction(obj) or inspect.ismethod(obj) or isinstance(obj, functools.partial):
        if _never_returns(obj):
            return Double(None)
        return Double(False if _gives_no_awaitable(obj) else None)
    return Double(None)


def _never_returns(obj: object) -> bool:
    """A fake whose body only raises (or calls ``pytest.fail``): the same verdict as the scanner's."""
    code = getattr(inspect.unwrap(obj), "__code__", None)  # type: ignore[arg-type]
    found = _def_of(code) if isinstance(code, types.CodeType) else None
    return found is not None and found.never_returns


def _gives_no_awaitable(obj: object) -> bool:
    """Whether a sync fake's source proves its call gives no awaitable: every value it returns is a
    literal, a display, a comprehension, a comparison, an f-string or None, or it returns nothing
    (``refs.PLAIN_NODES``, the scanner's test for a ``lambda`` double). A call, a name or anything else
    may be a future or a coroutine (``lambda self: fake()``): not proven. A wrapper
    (``functools.wraps``) gives what the wrapper returns, which its source alone does not show."""
    for _ in range(20):
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif inspect.ismethod(obj):
            obj = obj.__func__
        else:
            break
    if not inspect.isfunction(obj) or getattr(obj, "__wrapped__", None) is not None:
        return False
    code = obj.__code__
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_ITERABLE_COROUTINE | inspect.CO_COROUTINE):
        return False
    if code.co_name == "<lambda>":
        bodies = _lambda_bodies(code.co_filename, code.co_firstlineno)
        return bool(bodies) and all(isinstance(body, PLAIN_NODES) for body in bodies)
    found = _def_of(code)
    return found is not None and not found.is_generator and all(ref == PLAIN_REF for ref in found.returns)


def _def_of(code: types.CodeType) -> DefFact | None:
    """The scanner's facts of the ``def`` that compiled to ``code``: the nearest of its name at or below
    its first line (a decorated def's code starts at its first decorator)."""
    facts = _file_facts(code.co_filename)
    if facts is None:
        return None
    first = code.co_firstlineno
    matches = [
        d
        for d in facts.defs
        if d.kind == "function" and d.qualname.rsplit(".", 1)[-1] == code.co_name and first <= d.line <= first + 10
    ]
    return min(matches, key=lambda d: d.line, default=None)


def _lambda_bodies(path: str, line: int) -> list[ast.expr]:
    """The bodies of the lambdas that start on ``line`` of ``path`` (all of them: a line may hold two)."""
    tree = _file_tree(path)
    if tree is None:
        return []
    return [node.body for node in ast.walk(tree) if isinstance(node, ast.Lambda) and node.lineno == line]


@functools.lru_cache(maxsize=64)
def _file_facts(path: str) -> ModuleFacts | None:
    try:
        data = Path(path).read_bytes()
        return collect(path, "", False, data)
    except (OSError, SourceError):
        return None


@functools.lru_cache(maxsize=16)
def _file_tree(path: str) -> ast.Module | None:
    try:
        return parse(Path(path).read_bytes(), path)
    except (OSError, SourceError):
        return None


def describe_double(obj: object) -> str:
    """How the double is named in messages: `AsyncMock`, `MagicMock`, `async def fake`, `lambda`."""
    obj = _unwrap_descriptor(obj)
    if isinstance(obj, mock.NonCallableMock):
        return type(obj).__name__
    name = getattr(obj, "__qualname__", None) or type(obj).__name__
    if name.endswith("<lambda>"):
        return "lambda"
    return f"async def {name}" if _is_async_function(obj) else f"def {name}"


def defined_at(obj: object, rootpath: str = "") -> str:
    """``path:line`` of the object's definition (relative to ``rootpath`` when inside it), or ""."""
    obj = _unwrap_descriptor(obj)
    target = inspect.unwrap(obj) if callable(obj) else obj
    try:
        path = inspect.getsourcefile(target)  # type: ignore[arg-type]
        _, line = inspect.getsourcelines(target)  # type: ignore[arg-type]
    except (TypeError, OSError):
        return ""
    if path is None:
        return ""
    if rootpath and path.startswith(rootpath.rstrip("/") + "/"):
        path = path[len(rootpath.rstrip("/")) + 1 :]
    return f"{path}:{max(line, 1)}"


def qualified_name(obj: object) -> str:
    obj = _unwrap_descriptor(obj)
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return f"{module}.{qualname}"
    return ""
