"""What the resolver knows about names outside the project: what calling (or using) each one gives.

``KNOWN`` maps a dotted name to a behaviour (a coroutine function, a transparent decorator, a mock
class ...); the sets below it are derived from it or list the bases whose members never matter.
Nothing here reads code: these are tables, looked up by ``lookup``, ``members`` and ``calls``.
"""

from __future__ import annotations

# Outside the project: what calling (or using) a well-known name gives.
KNOWN: dict[str, str] = {
    **dict.fromkeys(
        (
            "asyncio.sleep",
            "asyncio.wait_for",
            "asyncio.wait",
            "asyncio.to_thread",
            "asyncio.open_connection",
            "asyncio.start_server",
            "asyncio.create_subprocess_exec",
            "asyncio.create_subprocess_shell",
            "asyncio.open_unix_connection",
            "asyncio.start_unix_server",
            "anyio.sleep",
            "trio.sleep",
        ),
        "coroutine-fn",
    ),
    **dict.fromkeys(
        (
            "asyncio.gather",
            "asyncio.create_task",
            "asyncio.ensure_future",
            "asyncio.shield",
            "asyncio.wrap_future",
            "asyncio.Future",
            "asyncio.Task",
            "asyncio.tasks.Task",
            "asyncio.futures.Future",
        ),
        "awaitable-fn",
    ),
    **dict.fromkeys(
        (
            "staticmethod",
            "classmethod",
            "functools.wraps",
            "functools.lru_cache",
            "functools.cache",
            "abc.abstractmethod",
            "typing.override",
            "typing_extensions.override",
            "typing.final",
            "typing_extensions.final",
            "functools.total_ordering",
            "dataclasses.dataclass",
            "functools.singledispatch",
            "typing.no_type_check",
        ),
        "deco-transparent",
    ),
    **dict.fromkeys(("property", "functools.cached_property"), "deco-property"),
    "contextlib.contextmanager": "deco-sync-cm",
    "contextlib.asynccontextmanager": "deco-async-cm",
    **dict.fromkeys(("unittest.mock.AsyncMock", "mock.AsyncMock", "asynctest.CoroutineMock"), "asyncmock-class"),
    **dict.fromkeys(
        (
            "unittest.mock.Mock",
            "unittest.mock.MagicMock",
            "unittest.mock.NonCallableMock",
            "unittest.mock.NonCallableMagicMock",
            "mock.Mock",
            "mock.MagicMock",
        ),
        "syncmock-class",
    ),
    **dict.fromkeys(
        (
            "len",
            "str",
            "int",
            "float",
            "bool",
            "repr",
            "isinstance",
            "issubclass",
            "hash",
            "id",
            "print",
            "format",
            "min",
            "max",
            "abs",
            "round",
            "time.sleep",
            "time.time",
            "time.monotonic",
            "json.dumps",
            "json.loads",
            "os.getenv",
            "dict",
            "list",
            "set",
            "tuple",
            "frozenset",
            "sorted",
            "sum",
            "bytes",
            # builtins whose result is never awaitable (typeshed's builtins.pyi: none returns an awaitable)
            "object",
            "bytearray",
            "memoryview",
            "slice",
            "complex",
            "type",
            "chr",
            "ord",
            "hex",
            "oct",
            "bin",
            "ascii",
            "divmod",
            "pow",
            "all",
            "any",
            "callable",
            "hasattr",
            "vars",
            "dir",
        ),
        "plain-fn",
    ),
    **dict.fromkeys(("range", "enumerate", "zip", "reversed", "map", "filter", "iter"), "sync-iter-fn"),
    "open": "sync-cm-fn",
}


MOCK_MODULES = frozenset({"unittest.mock", "mock"})


# short names derived from KNOWN, for the engine's cheap by-name filters (one table, not two)
KNOWN_COROUTINE_NAMES = frozenset(name.rsplit(".", 1)[-1] for name, kind in KNOWN.items() if kind == "coroutine-fn")


SYNC_DECORATOR_NAMES = frozenset(
    name.rsplit(".", 1)[-1]
    for name, kind in KNOWN.items()
    if kind in ("deco-transparent", "deco-property", "deco-sync-cm")
) | {"setter", "getter", "deleter", "overload", "fixture"}  # property accessors, typing stubs, pytest


# classes whose members never matter here: a project class deriving only from these is fully known
PLAIN_BASES = frozenset(
    {
        "object",
        "Exception",
        "BaseException",
        "ValueError",
        "TypeError",
        "RuntimeError",
        "KeyError",
        "LookupError",
        "abc.ABC",
        "typing.Generic",
        "typing.Protocol",
        "typing_extensions.Protocol",
        "typing.NamedTuple",
        "enum.Enum",
        "enum.IntEnum",
        "enum.StrEnum",
        "dict",
        "list",
        "str",
        "int",
        "typing.TypedDict",
    }
)


# builtin classes whose call (``KNOWN``'s "plain-fn") makes an instance of that class
BUILTIN_CLASSES = frozenset(
    {"object", "dict", "list", "set", "tuple", "frozenset", "bytes", "bytearray", "str", "int", "float", "bool"}
    | {"complex", "memoryview", "slice"}
)


# what calling a known external callable gives (``KNOWN``'s behaviours): the value's kind, and whether
# it names the callable as its origin (a mock class's instance is no callable's result)
CALLED: dict[str, tuple[str, bool]] = {
    "coroutine-fn": ("coroutine", True),
    "awaitable-fn": ("awaitable", True),
    "plain-fn": ("plain", True),
    "sync-iter-fn": ("sync-iter", True),
    "sync-cm-fn": ("sync-cm", True),
    "asyncmock-class": ("asyncmock", False),
    "syncmock-class": ("syncmock", False),
}
