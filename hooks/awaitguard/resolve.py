"""Expression -> definition -> awaitability, with the reason kept for the message.

``Resolver.value`` follows names through local bindings, imports (absolute, relative, inside
functions), re-exports, attributes, ``self``/``cls``/``super()``, attributes set in ``__init__``,
``importlib.import_module``/``__import__``/``getattr`` literals, decorators and return values.
Anything it cannot follow is ``UNKNOWN``, and rules say nothing about unknown values.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import re
from collections.abc import Iterator

from awaitguard.index import Index
from awaitguard.model import DefFact, ImportFact, ModuleFacts, Ref, ScopeFact, Site
from awaitguard.refs import (
    BUILTIN_NAMES,
    CONCRETE_CONTAINERS,
    CONSUMERS,
    LOG_METHODS,
    PLAIN_TYPE_NAMES,
    annotation_ref,
    dotted,
    is_logger_method,
    parse_annotation,
    ref_of,
)
from awaitguard.values import ABC_BASES, UNKNOWN, Value

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
_MOCK_MODULES = frozenset({"unittest.mock", "mock"})
# short names derived from KNOWN, for the engine's cheap by-name filters (one table, not two)
KNOWN_COROUTINE_NAMES = frozenset(name.rsplit(".", 1)[-1] for name, kind in KNOWN.items() if kind == "coroutine-fn")
SYNC_DECORATOR_NAMES = frozenset(
    name.rsplit(".", 1)[-1]
    for name, kind in KNOWN.items()
    if kind in ("deco-transparent", "deco-property", "deco-sync-cm")
) | {"setter", "getter", "deleter", "overload", "fixture"}  # property accessors, typing stubs, pytest
# classes whose members never matter here: a project class deriving only from these is fully known
_PLAIN_BASES = frozenset(
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
_TEST_PATH = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$")
_AWAITABLE_ANNOTATION = re.compile(
    r"\b(Awaitable|Coroutine|CoroutineType|Future|Task|Any|AsyncIterator|AsyncGenerator)\b"
)
_MAX_DEPTH = 24
# builtin classes whose call (``KNOWN``'s "plain-fn") makes an instance of that class
_BUILTIN_CLASSES = frozenset(
    {"object", "dict", "list", "set", "tuple", "frozenset", "bytes", "bytearray", "str", "int", "float", "bool"}
    | {"complex", "memoryview", "slice"}
)
_NONE = Value("plain", name="None")  # an assigned `None` (``NONE_REF``)


_ANY_TYPES = frozenset({"Any", "object", "TypeVar"})


def _union_members(node: ast.expr) -> list[ast.expr] | None:
    """The members of `A | B`, `Union[A, B]`, `Optional[A]` (flattened); None for any other annotation."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*(_union_members(node.left) or [node.left]), *(_union_members(node.right) or [node.right])]
    if isinstance(node, ast.Subscript):
        outer = dotted(node.value).rsplit(".", 1)[-1]
        if outer == "Union":
            return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Optional":
            return [node.slice, ast.Constant(None)]
    return None


def _unparse_short(node: ast.expr) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def declared_coroutine_names(facts: ModuleFacts) -> set[str]:
    """Names a call through which makes a coroutine by declaration alone: parameters and class attributes
    declared `Callable[..., Coroutine[...]]` (or through a type alias of the module), for the by-name filter."""
    aliases = {f"n:{n}" for n, ref in facts.bindings if ref and ref[0][:2] == "a:" and "Coroutine" in ref[0]}
    names = set()
    for scope in facts.scopes:
        for param, ref in scope.annotations:
            if ref and ((ref[0][:2] == "t:" and "Coroutine" in ref[0]) or ref[0] in aliases):
                names.add(param)
    return names


def _hides(defn: DefFact, value: Value) -> bool:
    """Whether a class may have members it does not show: `__getattr__`, or (for the class object itself, not
    an instance: a metaclass's members are the class's, not its instances') a metaclass."""
    if not defn.dynamic:
        return False
    return value.kind != "instance" or "__getattr__" in defn.members or "__getattribute__" in defn.members


def _declares_coroutine(annotation: str) -> bool:
    """`-> Coroutine[Any, Any, int]` (or `types.CoroutineType`): calling the def makes a coroutine."""
    if "Coroutine" not in annotation:
        return False
    node = parse_annotation(annotation)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        node = parse_annotation(node.value)
    if node is None:
        return False
    outer = dotted(node.value if isinstance(node, ast.Subscript) else node).rsplit(".", 1)[-1]
    return outer in ("Coroutine", "CoroutineType")


def _is_accessor(decorator: Ref) -> bool:
    """``@name.setter`` / ``.getter`` / ``.deleter``: a property's other half."""
    return len(decorator) == 2 and decorator[0].startswith("n:") and decorator[1] in (".setter", ".getter", ".deleter")


def _is_overload(defn: DefFact) -> bool:
    return any(dec and dec[-1] in ("n:overload", ".overload") for dec in defn.decorators)


def _collapse_overloads(group: list[DefFact], stub: bool) -> list[DefFact]:
    """`@overload`s: the implementation in source; in a stub, one of them when they all agree."""
    real = [d for d in group if not _is_overload(d)]
    if len(real) < len(group) and not stub and real:
        return real
    if stub and not real:
        first = group[0]
        if all(d.is_async == first.is_async for d in group) and (
            first.is_async or all(d.returns_annotation == first.returns_annotation for d in group)
        ):
            return [first]
    return group


# what calling a known external callable gives (``KNOWN``'s behaviours): the value's kind, and whether
# it names the callable as its origin (a mock class's instance is no callable's result)
_CALLED: dict[str, tuple[str, bool]] = {
    "coroutine-fn": ("coroutine", True),
    "awaitable-fn": ("awaitable", True),
    "plain-fn": ("plain", True),
    "sync-iter-fn": ("sync-iter", True),
    "sync-cm-fn": ("sync-cm", True),
    "asyncmock-class": ("asyncmock", False),
    "syncmock-class": ("syncmock", False),
}


class _Tables:
    """Per-module lookup tables, built on first use."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self.defs: dict[str, list[DefFact]] = {}
        for d in facts.defs:
            self.defs.setdefault(d.qualname, []).append(d)
        for qualname, group in self.defs.items():
            if len(group) > 1:
                self.defs[qualname] = _collapse_overloads(group, facts.is_stub_file)
        self.scopes: dict[str, ScopeFact] = {s.qualname: s for s in facts.scopes}
        self.imports: dict[tuple[str, str], list[ImportFact]] = {}
        for imp in facts.imports:
            self.imports.setdefault((imp.scope, imp.name), []).append(imp)
        self.bindings: dict[str, list[Ref]] = {}
        for name, ref in facts.bindings:
            self.bindings.setdefault(name, []).append(ref)
        self._scope_bindings: dict[str, dict[str, list[Ref]]] = {}

    def scope_bindings(self, scope: ScopeFact) -> dict[str, list[Ref]]:
        """``scope``'s bindings by name, built when first asked for (most scopes of a module never are)."""
        table = self._scope_bindings.get(scope.qualname)
        if table is None:
            table = self._scope_bindings[scope.qualname] = {}
            for name, ref in scope.bindings:
                table.setdefault(name, []).append(ref)
        return table


class Resolver:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._tables: dict[str, _Tables] = {}
        self._memo: dict[tuple[str, str, Ref], Value] = {}
        self._busy: set[tuple[str, str, Ref]] = set()
        self._globals: dict[tuple[str, str], Value] = {}
        self._globals_busy: set[tuple[str, str]] = set()
        self._awaited: dict[str, bool] = {}
        self._async_defs: dict[str, bool] = {}
        self._depth = 0

    # -- entry points --------------------------------------------------------------------------
    def value(self, facts: ModuleFacts, scope: str, ref: Ref) -> Value:
        return self._value(facts.module, scope, ref)

    def tables(self, module: str) -> _Tables | None:
        found = self._tables.get(module)
        if found is None:
            facts = self.index.facts(module)
            if facts is None:
                return None
            found = self._tables[module] = _Tables(facts)
        return found

    def module_binds(self, module: str, name: str) -> bool:
        """Whether ``module`` still defines, imports or assigns ``name`` (or has it as a submodule)."""
        if not self.index.has_module(module):
            return False  # the module itself is gone
        tables = self.tables(module)
        if tables is None:
            return True  # cannot tell: do not report
        if tables.facts.star_imports:
            return True
        return bool(
            tables.defs.get(name) or tables.imports.get(("", name)) or tables.bindings.get(name)
        ) or self.index.has_module(f"{module}.{name}")

    # -- core ----------------------------------------------------------------------------------
    def _value(self, module: str, scope: str, ref: Ref) -> Value:
        if not ref:
            return UNKNOWN
        key = (module, scope, ref)
        memo = self._memo.get(key)
        if memo is not None:
            return memo
        if key in self._busy or self._depth > _MAX_DEPTH:
            return UNKNOWN
        self._busy.add(key)
        self._depth += 1
        try:
            result = self._compute(module, scope, ref)
            if result.kind == "unknown" and self.index.declared and ref[-1] == "()":
                result = self._policy_declared(ref)
        finally:
            self._depth -= 1
            self._busy.discard(key)
        self._memo[key] = result
        return result

    def _policy_declared(self, ref: Ref) -> Value:
        """A call the resolver cannot follow, whose callee's own name the project's policy declares."""
        name = ref[-2].removeprefix("n:").removeprefix(".") if len(ref) > 1 and ref[-2].startswith(("n:", ".")) else ""
        for pattern, is_async, declared in self.index.declared if name else ():
            if fnmatch.fnmatchcase(name, pattern):
                return Value("coroutine" if is_async else "plain", name=declared, resolver=self)
        return UNKNOWN

    def _compute(self, module: str, scope: str, ref: Ref) -> Value:
        head = ref[0]
        if head.startswith("n:"):
            current = self._lookup(module, scope, head[2:])
        elif head.startswith("d:"):
            current = self._local_def(module, head[2:])
        elif head.startswith("m:"):
            current = self._module_value(head[2:])
        elif head == "super":
            current = self._super(module, scope)
        elif head == "plain":
            current = Value("plain")
        elif head == "none":
            current = _NONE
        elif head.startswith("t:"):  # a declared union or `Callable[...]`, as written
            current = self._typed(module, scope, head[2:])
        elif head.startswith("a:"):  # a type alias: what it declares, once an annotation names it (`#inst`)
            current = Value("alias", module=module, name=head[2:], resolver=self)
        elif head.startswith("b:"):
            current = Value("builtin", name=head[2:], resolver=self)
        elif head == "lambda":
            current = Value("lambda")
        elif head == "genexp":
            current = Value("gen", name="<genexpr>")
        else:
            return UNKNOWN
        for step in ref[1:]:
            if current.kind == "unknown":
                return UNKNOWN
            if step == "()":
                current = self.call(current)
            elif step.startswith("."):
                current = self.attribute(current, step[1:])
            elif step == "#inst":
                current = self._declared_instance(current)
            elif step.startswith("#builtin:"):
                # `n: int`: an int, unless the project defines (or imports) a class of that name
                known = current.kind == "external" and current.name in BUILTIN_NAMES
                current = Value("builtin", name=step[9:], resolver=self) if known else UNKNOWN
            elif step.startswith("#many:"):
                current = self._many(current, step[6:])
            elif step == "#item":
                current = self._item(current)
            elif step in ("#enter", "#aenter"):
                current = self._entered(current, "__aenter__" if step == "#aenter" else "__enter__")
            else:
                return UNKNOWN
        return current

    def _declared_instance(self, cls: Value) -> Value:
        """An instance of a declared type (an annotation): no constructor runs, so no `__new__` doubt."""
        if cls.kind == "alias":
            return self._typed(cls.module, "", cls.name)
        if cls.kind != "class" or cls.defn is None:
            return UNKNOWN
        return Value("instance", module=cls.module, path=cls.path, defn=cls.defn, resolver=self)

    def _typed(self, module: str, scope: str, text: str) -> Value:
        """What an annotation written as ``text`` declares, read in ``scope``: a union member by member."""
        node = parse_annotation(text)
        return UNKNOWN if node is None else self._declared_node(module, scope, node, 0)

    def _declared_node(self, module: str, scope: str, node: ast.expr, depth: int) -> Value:
        if isinstance(node, ast.Constant):
            if node.value is None:
                return Value("builtin", name="None", resolver=self)
            parsed = parse_annotation(node.value) if isinstance(node.value, str) and depth < 4 else None
            return UNKNOWN if parsed is None else self._declared_node(module, scope, parsed, depth + 1)
        members = _union_members(node)
        if members is not None:
            if depth > 4:
                return UNKNOWN
            values = tuple(self._declared_node(module, scope, m, depth + 1) for m in members)
            if any(v.kind == "unknown" for v in values):
                return UNKNOWN
            rest = [v for v in values if v.name != "None" or v.kind != "builtin"]
            if len(set(rest)) == 1 and len(rest) < len(values):
                return rest[0]  # `X | None`: what a use that passes a `None` check sees
            return Value("union", name=_unparse_short(node), members=values, resolver=self)
        if isinstance(node, ast.Subscript):
            outer = dotted(node.value).rsplit(".", 1)[-1]
            if outer == "Callable":
                args = node.slice
                if not (isinstance(args, ast.Tuple) and len(args.elts) == 2) or depth > 4:
                    return UNKNOWN
                result = self._declared_node(module, scope, args.elts[1], depth + 1)
                return UNKNOWN if result.kind == "unknown" else Value("callable", members=(result,), resolver=self)
            if outer in ("Coroutine", "CoroutineType"):
                return Value("coroutine", name="...", resolver=self)  # which def makes it is not known
            if outer in ("Awaitable", "Future", "Task"):
                return Value("awaitable", resolver=self)
        elif isinstance(node, (ast.Name, ast.Attribute)) and dotted(node).rsplit(".", 1)[-1] in _ANY_TYPES:
            return UNKNOWN
        ref = annotation_ref(node)
        return self._value(module, scope, ref) if ref else UNKNOWN

    def _is_protocol(self, cls: Value) -> bool:
        """Whether ``cls`` is a `Protocol` class (one of its direct bases is `Protocol` or `Protocol[T]`)."""
        assert cls.defn is not None
        for base_ref in cls.defn.bases:
            if base_ref and base_ref[-1] in ("n:Protocol", ".Protocol"):
                return True
        return False

    def _many(self, element: Value, container: str) -> Value:
        """A declared container of instances (`list[Conn]`): ``defn`` is the items' class."""
        if element.kind != "instance" or element.defn is None:
            return UNKNOWN
        # ``name`` is set for concrete containers only (`list`, `set`, `tuple`): those are never awaitable
        name = container.lower() if container in CONCRETE_CONTAINERS else ""
        return Value("many", module=element.module, path=element.path, defn=element.defn, name=name, resolver=self)

    def _item(self, iterable: Value) -> Value:
        if iterable.kind != "many" or iterable.defn is None:
            return UNKNOWN
        return Value("instance", module=iterable.module, path=iterable.path, defn=iterable.defn, resolver=self)

    def _entered(self, manager: Value, method: str) -> Value:
        """What `with manager as x` binds: the manager itself when its `__enter__` returns `self`."""
        if manager.kind != "instance" or manager.defn is None or manager.self_ref:
            return UNKNOWN
        enter = self._member(manager, method)
        defn = enter.defn
        if enter.kind != "function" or defn is None or enter.self_ref:
            return UNKNOWN
        owner = manager.defn.qualname.rsplit(".", 1)[-1]
        returns_self = bool(defn.returns) and all(r == ("n:self",) for r in defn.returns)
        declared = defn.returns_annotation.strip("'\"")
        if returns_self or declared in ("Self", "typing.Self", "typing_extensions.Self", owner):
            return Value("instance", module=manager.module, path=manager.path, defn=manager.defn, resolver=self)
        return UNKNOWN

    def lookup(self, module: str, qualname: str) -> Value:
        """``module.qualname`` (``Class.method`` included), followed through imports and re-exports."""
        current = self._module_value(module)
        for attr in qualname.split("."):
            current = self.attribute(current, attr)
            if current.kind == "unknown":
                return UNKNOWN
        return current

    def _module_value(self, name: str) -> Value:
        if name in _MOCK_MODULES and not self.index.has_module(name):
            # never read (libraries.SKIPPED): its doubles are KNOWN by name (`mock.AsyncMock`, `unittest.mock.Mock`)
            return Value("external", name=name, resolver=self)
        if self.index.has_module(name) or self.index.in_library(name):
            return Value("module", module=name, name=name, resolver=self)
        return Value("external", name=name, resolver=self)

    def _local_def(self, module: str, qualname: str) -> Value:
        tables = self.tables(module)
        if tables is None:
            return UNKNOWN
        defs = tables.defs.get(qualname, [])
        if len(defs) != 1:
            return UNKNOWN
        return self._def_value(tables.facts, defs[0])

    def _def_value(self, facts: ModuleFacts, defn: DefFact) -> Value:
        kind = "class" if defn.kind == "class" else "function"
        return Value(kind, module=facts.module, path=facts.path, defn=defn, resolver=self)

    def _merge(self, values: list[Value]) -> Value:
        if not values:
            return UNKNOWN
        if len(values) > 1 and any(v is _NONE for v in values):
            # `None` never poisons a merge: `self.proc = None` here, `self.proc = Proc()` there
            values = [v for v in values if v is not _NONE] or values
        first = values[0]
        for other in values[1:]:
            if (other.kind, other.module, other.defn, other.name) != (first.kind, first.module, first.defn, first.name):
                return UNKNOWN
        return first

    def _lookup(self, module: str, scope: str, name: str) -> Value:
        tables = self.tables(module)
        if tables is None:
            return UNKNOWN
        current = tables.scopes.get(scope) if scope else None
        while current is not None:
            if name in current.params:
                return self._param(tables, current, name)
            refs = tables.scope_bindings(current).get(name)
            imports = tables.imports.get((current.qualname, name))
            if refs or imports:
                values = [self._value(module, current.qualname, r) for r in refs or ()]
                values += [self._import_value(i) for i in imports or ()]
                return self._merge(values)
            current = tables.scopes.get(current.parent) if current.parent else None
        return self._global(tables, name)

    def _param(self, tables: _Tables, scope: ScopeFact, name: str) -> Value:
        if not scope.cls or scope.is_static or scope.params[0] != name:
            for param, ref in scope.annotations:
                if param == name:  # `session: AsyncSession`: an instance of the declared class
                    return self._value(tables.facts.module, scope.parent, ref)
            return UNKNOWN
        defs = tables.defs.get(scope.cls, [])
        if len(defs) != 1:
            return UNKNOWN
        cls = self._def_value(tables.facts, defs[0])
        if scope.is_classmethod:
            return Value("class", module=cls.module, path=cls.path, defn=cls.defn, self_ref=True, resolver=self)
        return Value("instance", module=cls.module, path=cls.path, defn=cls.defn, self_ref=True, resolver=self)

    def _global(self, tables: _Tables, name: str) -> Value:
        """A module-level name: memoised, and UNKNOWN while it is being resolved (import cycles)."""
        key = (tables.facts.module, name)
        found = self._globals.get(key)
        if found is not None:
            return found
        if key in self._globals_busy:
            return UNKNOWN
        self._globals_busy.add(key)
        try:
            found = self._global_uncached(tables, name)
        finally:
            self._globals_busy.discard(key)
        self._globals[key] = found
        return found

    def _global_uncached(self, tables: _Tables, name: str) -> Value:
        facts = tables.facts
        values = [self._def_value(facts, d) for d in tables.defs.get(name, [])]
        values += [self._import_value(i) for i in tables.imports.get(("", name), [])]
        values += [self._value(facts.module, "", r) for r in tables.bindings.get(name, [])]
        if values:
            return self._merge(values)
        for star in facts.star_imports:
            found = self.attribute(self._module_value(star), name)
            if found.kind != "unknown":
                return found
        if facts.star_imports:
            return UNKNOWN
        if name in KNOWN:
            return Value("external", name=name, resolver=self)
        return UNKNOWN

    def _import_value(self, imp: ImportFact) -> Value:
        if not imp.name:
            return UNKNOWN
        if imp.attr is None:
            return self._module_value(imp.module)
        return self.attribute(self._module_value(imp.module), imp.attr)

    def _super(self, module: str, scope: str) -> Value:
        tables = self.tables(module)
        current = tables.scopes.get(scope) if tables else None
        if tables is None or current is None or not current.cls:
            return UNKNOWN
        defs = tables.defs.get(current.cls, [])
        if len(defs) != 1 or not defs[0].bases:
            return UNKNOWN
        base = self._value(module, self._class_scope(defs[0]), defs[0].bases[0])
        if base.kind != "class" or base.defn is None:
            return UNKNOWN
        return Value("instance", module=base.module, path=base.path, defn=base.defn, self_ref=True, resolver=self)

    @staticmethod
    def _class_scope(defn: DefFact) -> str:
        """The function scope a class (or method) body resolves its decorators and bases in."""
        parts = defn.qualname.split(".")
        if "<locals>" in parts:
            cut = len(parts) - 1 - parts[::-1].index("<locals>")
            return ".".join(parts[:cut])
        return ""

    # -- attributes ------------------------------------------------------------------------------
    def attribute(self, value: Value, name: str) -> Value:
        kind = value.kind
        if kind == "module":
            full = f"{value.name}.{name}"
            # `typing.List` too, and `typing.Iterator` (a base whose members are known: ``ABC_BASES``)
            well_known = full in KNOWN or full in _PLAIN_BASES or full in BUILTIN_NAMES or full in ABC_BASES
            if well_known and not self.index.has_module(value.name):
                return Value("external", name=full, resolver=self)  # a well-known name: the table decides
            return self._module_attr(value.name, name)
        if kind == "external":
            if name in ("AsyncMock", "MagicMock", "Mock"):
                return Value("external", name=f"unittest.mock.{name}", resolver=self)
            return Value("external", name=f"{value.name}.{name}", resolver=self)
        if kind in ("class", "instance") and value.defn is not None:
            return self._member(value, name)
        if kind == "unknown" and name in ("AsyncMock", "MagicMock", "Mock"):
            return Value("external", name=f"unittest.mock.{name}", resolver=self)
        return UNKNOWN

    def _module_attr(self, module: str, name: str) -> Value:
        if f"{module}.{name}" in _MOCK_MODULES:  # `from unittest import mock`
            return self._module_value(f"{module}.{name}")
        tables = self.tables(module)
        if tables is not None:
            found = self._global(tables, name)
            if found.kind != "unknown":
                return found
        sub = f"{module}.{name}"
        if self.index.has_module(sub) or self.index.in_library(sub):
            return self._module_value(sub)
        return UNKNOWN

    def _mro(self, value: Value) -> Iterator[tuple[Value, bool]]:
        """(class value, complete) pairs along a breadth-first MRO approximation; a `typing`/`collections.abc`
        base (``ABC_BASES``) comes as an external value, ``defn`` None."""
        seen: set[tuple[str, str]] = set()
        seen_abcs: set[str] = set()
        stack = [value]
        while stack:
            cls = stack.pop(0)
            if cls.defn is None:
                if cls.name not in seen_abcs:  # `Iterator[str]`: an ABC, with ``defn`` None
                    seen_abcs.add(cls.name)
                    yield cls, True
                continue
            key = (cls.module, cls.defn.qualname)
            if key in seen:
                continue
            seen.add(key)
            yield cls, True
            for base_ref in cls.defn.bases:
                base = self._value(cls.module, self._class_scope(cls.defn), base_ref)
                if base.kind == "class" and base.defn is not None:
                    stack.append(base)
                elif base.kind == "external" and base.name in ABC_BASES:
                    stack.append(base)
                elif base.kind == "external" and base.name in _PLAIN_BASES:
                    continue
                elif base_ref and base_ref[0] == "n:object":
                    continue
                else:
                    yield cls, False  # an unknown base: members may come from it

    def _known_mro(self, value: Value) -> bool:
        """Whether every class of ``value``'s MRO is known (no unknown base, no dynamic class)."""
        return all(complete and (cls.defn is None or not cls.defn.dynamic) for cls, complete in self._mro(value))

    def class_has(self, value: Value, member: str) -> bool | None:
        """Whether the class (of an instance) defines ``member``; None when it cannot be known."""
        if value.defn is None:
            return None
        for cls, complete in self._mro(value):
            if not complete:
                return None
            if cls.defn is None:
                if member in ABC_BASES[cls.name]:
                    return True
                continue
            if _hides(cls.defn, value) or any(d == ("?",) for d in cls.defn.decorators if d[-1:] != ("()",)):
                return None
            if member in cls.defn.members:
                return True
        # a protocol is structural: what is passed as one may have any member it does not declare
        return None if self._is_protocol(value) else False

    def plainly_built(self, value: Value) -> bool:
        """Whether every class of ``value``'s MRO is known and decorated only by decorators that add no
        member (`@dataclass`, `@final` ...): a project's own class decorator may add `__aenter__`."""
        if value.defn is None:
            return False
        for cls, complete in self._mro(value):
            if not complete:
                return False
            if cls.defn is None:
                continue  # a `typing`/`collections.abc` base: its members are known
            for dec in cls.defn.decorators:
                called = dec[:-1] if dec[-1:] == ("()",) else dec  # `@dataclass(frozen=True)`
                found = self._value(cls.module, self._class_scope(cls.defn), called)
                if not (found.kind == "external" and KNOWN.get(found.name) == "deco-transparent"):
                    return False
        return True

    def _member(self, owner: Value, name: str) -> Value:
        before: list[Value] = []  # the project classes met so far along the MRO
        for cls, complete in self._mro(owner):
            if not complete:
                # an unknown base hides only what the classes before it, and their `self.x =`, do not define;
                # a `None` they assign is a default the base may replace (`self.transport = None`)
                found = self._assigned(before, name)
                return UNKNOWN if found is _NONE else found
            if cls.defn is None:
                if name in ABC_BASES[cls.name]:
                    return UNKNOWN  # an ABC's mixin method: defined, its result not followed
                continue
            if _hides(cls.defn, owner):
                return UNKNOWN
            before.append(cls)
            if name not in cls.defn.members:
                continue
            tables = self.tables(cls.module)
            if tables is None:
                return UNKNOWN
            defs = tables.defs.get(f"{cls.defn.qualname}.{name}", [])
            if defs:
                return self._method(owner, cls, defs)
            values = [self._value(cls.module, scope, ref) for attr, scope, ref in cls.defn.attrs if attr == name]
            return self._merge(values)
        return self._assigned(before, name)

    def _assigned(self, classes: list[Value], name: str) -> Value:
        """An instance attribute set in the methods of ``classes`` (`self.x = ...`), first class first."""
        for cls in classes:
            assert cls.defn is not None
            values = [self._value(cls.module, scope, ref) for attr, scope, ref in cls.defn.attrs if attr == name]
            if values:
                return self._merge(values)
        return UNKNOWN

    def _method(self, owner: Value, cls: Value, defs: list[DefFact]) -> Value:
        getters = [d for d in defs if self._decorator_kind(cls.module, d, "deco-property")]
        if getters:
            if owner.kind != "instance":
                return UNKNOWN
            result = self.call(self._def_value_at(cls, getters[0], owner.self_ref))
            if result.kind == "plain":
                return Value(
                    "plain", origin=result.origin, via_property=True, overridable=result.overridable, resolver=self
                )
            return result
        if len(defs) != 1:
            return UNKNOWN
        defn = defs[0]
        if owner.self_ref and (defn.is_stub or defn.is_abstract):
            return UNKNOWN  # a hook for subclasses to fill in
        return self._def_value_at(cls, defn, owner.self_ref)

    def _def_value_at(self, cls: Value, defn: DefFact, self_ref: bool) -> Value:
        return Value("function", module=cls.module, path=cls.path, defn=defn, self_ref=self_ref, resolver=self)

    def _decorator_kind(self, module: str, defn: DefFact, kind: str) -> bool:
        scope = self._class_scope(defn)
        for dec in defn.decorators:
            if _is_accessor(dec):
                if kind == "deco-property":
                    return True
            value = self._value(module, scope, dec)
            if value.kind == "external" and KNOWN.get(value.name) == kind:
                return True
        return False

    # -- calls -------------------------------------------------------------------------------------
    def call(self, value: Value) -> Value:
        kind = value.kind
        if kind == "function" and value.defn is not None:
            return self._call_def(value)
        if kind == "class" and value.defn is not None:
            return self._instantiate(value)
        if kind == "external":
            called = _CALLED.get(KNOWN.get(value.name, ""))
            if called is None:
                return UNKNOWN
            result, keeps_origin = called
            if result == "plain" and value.name in _BUILTIN_CLASSES:  # `object()`, `dict()`: an instance of it
                return Value("builtin", name=value.name, origin=value, resolver=self)
            return Value(result, name=value.name, origin=value if keeps_origin else None, resolver=self)
        if kind == "asyncmock":
            return Value("asyncmock-result", name=value.name, resolver=self)
        if kind == "callable":  # a declared `Callable[..., R]`: an R
            return value.members[0]
        if kind == "instance" and value.defn is not None and not value.self_ref:
            call = self._member(value, "__call__")
            return self.call(call) if call.kind == "function" else UNKNOWN
        return UNKNOWN

    def _instantiate(self, cls: Value) -> Value:
        assert cls.defn is not None
        if cls.defn.dynamic or "__new__" in cls.defn.members:
            return UNKNOWN
        for dec in cls.defn.decorators:
            if not self._keeps_class(cls, dec):
                return UNKNOWN
        # `cls(...)` in a classmethod: the subclass it runs for may define what this class does not
        return Value(
            "instance",
            module=cls.module,
            path=cls.path,
            defn=cls.defn,
            origin=cls,
            self_ref=cls.self_ref,
            resolver=self,
        )

    def _keeps_class(self, cls: Value, dec: Ref) -> bool:
        """Whether a class decorator leaves the class as it is: a known one (`@dataclass`), a project def
        returning its argument, or one that cannot be resolved (a type checker keeps the class too)."""
        assert cls.defn is not None
        value = self._value(cls.module, self._class_scope(cls.defn), dec)
        if value.kind == "external":
            return KNOWN.get(value.name, "deco-transparent") == "deco-transparent"
        if value.kind == "function" and value.defn is not None:
            return self._apply_decorator(value) is True
        return value.kind == "unknown"

    def _effective(self, fn: Value) -> tuple[Value | None, str]:
        """Apply decorators bottom-up: the function that really runs, or a special result kind."""
        assert fn.defn is not None
        current = fn
        scope = self._class_scope(fn.defn)
        for dec in reversed(fn.defn.decorators):
            if _is_accessor(dec):
                continue
            value = self._value(fn.module, scope, dec)
            behaviour = KNOWN.get(value.name, "") if value.kind == "external" else ""
            if behaviour in ("deco-transparent", "deco-property"):
                continue
            if behaviour == "deco-sync-cm":
                return current, "sync-cm"
            if behaviour == "deco-async-cm":
                return current, "async-cm"
            if value.kind == "function" and value.defn is not None:
                applied = self._apply_decorator(value)
                if applied is None:
                    return None, ""
                if isinstance(applied, Value):
                    current = applied
                continue
            return None, ""
        return current, ""

    def _apply_decorator(self, deco: Value) -> Value | bool | None:
        """True if ``deco`` returns its argument, a local wrapper def it returns, else None."""
        assert deco.defn is not None
        defn = deco.defn
        if defn.is_async or defn.is_generator or not defn.returns:
            return None
        if (
            defn.returns_param
            and len(defn.returns) == 1
            and defn.params
            and defn.returns[0] == (f"n:{defn.params[0]}",)
        ):
            return True
        wrappers = [self._value(deco.module, defn.qualname, ref) for ref in defn.returns]
        merged = self._merge(wrappers)
        if merged.kind == "function" and merged.defn is not None and "<locals>" in merged.defn.qualname:
            return merged
        return None

    def _call_def(self, fn: Value) -> Value:
        effective, special = self._effective(fn)
        if effective is None or effective.defn is None:
            return UNKNOWN
        if special:
            return Value(special, origin=effective, resolver=self)
        defn = effective.defn
        if defn.is_async:
            kind = "asyncgen" if defn.is_generator else "coroutine"
            return Value(kind, origin=effective, resolver=self)
        if defn.is_generator:
            return Value("gen", origin=effective, resolver=self)
        facts = self.index.facts(effective.module)
        if facts is None:
            return UNKNOWN
        annotation = defn.returns_annotation
        if facts.is_stub_file:
            return self._stub_result(effective)
        if annotation and _AWAITABLE_ANNOTATION.search(annotation):
            # declared awaitable (or Any): trust the declaration, and a declared coroutine is one
            return Value("coroutine", origin=effective, resolver=self) if _declares_coroutine(annotation) else UNKNOWN
        is_method = "." in defn.qualname.replace(".<locals>.", "")
        if (defn.is_stub and is_method) or defn.is_abstract:
            # a body of `...`, `pass` or a docstring declares its result, as a type checker trusts it; through
            # `self` it is a hook that a subclass fills in (``_method`` says nothing there)
            return self._declared(effective) if annotation else UNKNOWN
        if is_method and self._delegates_to_self(effective.module, defn):
            return UNKNOWN  # a command layer shared by a sync and an async client: the client decides
        if defn.returns_param:  # a result that depends on the caller, unless a plain type is declared
            return self._declared(effective) if annotation else UNKNOWN
        results = [self._value(effective.module, defn.qualname, ref) for ref in defn.returns]
        if not results:
            return Value("plain", origin=effective, resolver=self)
        if annotation and all(r is _NONE for r in results):
            return self._declared(effective)  # an attribute assigned only `None` here: the declaration says more
        verdicts = [r.awaitable() for r in results]
        if any(v is True for v in verdicts):
            return Value("awaitable", origin=effective, resolver=self)
        if any(v is None for v in verdicts):
            # the body is not conclusive: a declared plain result type decides (`-> Manager`, `-> dict`)
            return self._declared(effective) if annotation else UNKNOWN
        merged = self._merge(results)
        through = self._through_self(defn, results) if is_method else ()
        if merged.kind in ("instance", "unknown") and annotation:
            # `if not isinstance(self.message, Message): raise ...; return self.message` with `-> Message`:
            # the body's value (the attribute's declared base class) is wider than what the def declares;
            # `return None` here and `return Context()` there, with `-> Context | None`: the declaration says it
            declared = self._declared(effective)
            if declared.kind == "instance":
                return dataclasses.replace(declared, overridable=through)
        if merged.kind == "instance":
            return Value(
                "instance",
                module=merged.module,
                path=merged.path,
                defn=merged.defn,
                origin=effective,
                overridable=through,
                resolver=self,
            )
        if merged.kind == "many":
            return Value(
                "many",
                module=merged.module,
                path=merged.path,
                defn=merged.defn,
                name=merged.name,
                origin=effective,
                overridable=through,
            )
        if merged.kind == "builtin":  # `return object()`: neither awaitable, a context manager nor async-iterable
            return Value("builtin", name=merged.name, origin=effective, overridable=through, resolver=self)
        if merged.kind in ("gen", "asyncgen", "sync-cm", "async-cm"):
            return Value(merged.kind, origin=merged.origin or effective, overridable=through, resolver=self)
        return Value("plain", origin=effective, overridable=through, resolver=self)

    @staticmethod
    def _through_self(defn: DefFact, results: list[Value]) -> tuple[str, ...]:
        """The methods a method's result comes from through `self.name(...)` (and theirs, recursively)."""
        first = f"n:{defn.params[0]}" if defn.params else ""
        names = [
            ref[1][1:] for ref in defn.returns if ref[:1] == (first,) and ref[2:3] == ("()",) and ref[1][:1] == "."
        ]
        for result in results:
            names.extend(result.overridable)
        return tuple(dict.fromkeys(names))

    def defined_async(self, names: tuple[str, ...]) -> bool:
        """Whether the project defines an `async def` of any of ``names`` (a subclass may override a sync
        method with it: a command layer shared by a sync and an async client). Asked only of a finding."""
        missing = [name for name in names if name not in self._async_defs]
        if missing:
            candidates = sorted(self.index.tree.grep(missing))
            blobs = self.index.tree.read(candidates)
            for name in missing:
                pattern = re.compile(rb"\basync[ \t]+def[ \t]+" + re.escape(name.encode()) + rb"\b")
                self._async_defs[name] = any(pattern.search(blob) for blob in blobs.values())
        return any(self._async_defs[name] for name in names)

    def _delegates_to_self(self, module: str, defn: DefFact) -> bool:
        """Whether a method returns the unknown result of a call through `self` (or `cls`).

        redis-py's search commands are shared by its sync and async clients, typed with the sync
        result (`def suglen(self, key) -> int: return self.execute_command(...)`), and the client
        supplies `execute_command`: on the async one the result is a coroutine, so the declared type
        says nothing about what the caller gets.
        """
        if not defn.params:
            return False
        first = f"n:{defn.params[0]}"
        return any(
            ref[:1] == (first,)
            and ref[1:2] != ("()",)  # `self.execute_command(...)`, not `cls(...)` (a constructor, declared by the def)
            and "()" in ref[2:]
            and self._value(module, defn.qualname, ref).awaitable() is None
            for ref in defn.returns
        )

    def _stub_result(self, fn: Value) -> Value:
        """A stub's sync def: its declared result (``Coroutine[...]`` awaitable, a class, a plain type)."""
        assert fn.defn is not None
        annotation = fn.defn.returns_annotation
        if not annotation:
            return UNKNOWN
        node = parse_annotation(annotation)
        if node is None:
            return UNKNOWN
        outer = dotted(node.value if isinstance(node, ast.Subscript) else node).rsplit(".", 1)[-1]
        if outer in ("Coroutine", "CoroutineType"):
            return Value("coroutine", origin=fn, resolver=self)
        if outer in ("Awaitable", "Future", "Task"):
            return Value("awaitable", origin=fn, resolver=self)
        if _AWAITABLE_ANNOTATION.search(annotation):
            return UNKNOWN  # Any, or an awaitable somewhere inside (a union, a callable)
        return self._declared(fn)

    def _declared(self, fn: Value) -> Value:
        """The result a sync def declares, when that is a project class without `__await__` or a builtin."""
        assert fn.defn is not None
        node = parse_annotation(fn.defn.returns_annotation)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a forward reference
            node = parse_annotation(node.value)
        if node is None:
            return UNKNOWN
        if isinstance(node, ast.Constant) and node.value is None:
            return Value("plain", origin=fn, resolver=self)
        if dotted(node).rsplit(".", 1)[-1] == "Self" and "." in fn.defn.qualname:
            owner = self._local_def(fn.module, fn.defn.qualname.rsplit(".", 1)[0])
            if owner.kind == "class" and owner.defn is not None and self.class_has(owner, "__await__") is False:
                return Value(
                    "instance", module=owner.module, path=owner.path, defn=owner.defn, origin=fn, resolver=self
                )
            return UNKNOWN
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
            sides = [n for n in (node.left, node.right) if not (isinstance(n, ast.Constant) and n.value is None)]
            if len(sides) != 1:
                return UNKNOWN
            node = sides[0]
        many = annotation_ref(node)
        if many[-1:] and many[-1].startswith("#many:"):  # `-> list[Conn]`: its items are known too
            found = self._value(fn.module, self._class_scope(fn.defn), many)
            if found.kind == "many":
                return Value("many", module=found.module, path=found.path, defn=found.defn, name=found.name, origin=fn)
        if isinstance(node, ast.Subscript):
            if dotted(node.value).rsplit(".", 1)[-1] == "Optional":
                node = node.slice
            else:
                node = node.value  # dict[str, int] -> dict
        name = dotted(node)
        if name in PLAIN_TYPE_NAMES:
            return Value("plain", origin=fn, resolver=self)
        if not name:
            return UNKNOWN
        declared = self._value(fn.module, self._class_scope(fn.defn), ref_of(node))
        if declared.kind != "class" or declared.defn is None:
            return UNKNOWN
        has_await = self.class_has(declared, "__await__")
        # a protocol that does not declare `__await__`: its declared members are known, `await` on it is not
        if has_await is False or (has_await is None and self._is_protocol(declared) and self._known_mro(declared)):
            return Value(
                "instance", module=declared.module, path=declared.path, defn=declared.defn, origin=fn, resolver=self
            )
        return UNKNOWN

    def consumer(self, facts: ModuleFacts, site: Site) -> str:
        """What the function a value-use site passes its call to does with a coroutine: its
        ``refs.CONSUMERS`` group, "log" for a logging call, or "" when it is not known to want a result."""
        value = self.value(facts, site.scope, site.target_ref)
        if value.kind == "external":
            if value.name in CONSUMERS:
                return CONSUMERS[value.name]
            module, _, method = value.name.rpartition(".")
            return "log" if module == "logging" and method in LOG_METHODS else ""
        if value.kind == "function" and value.defn is not None and value.module.split(".")[0] == "logging":
            # read from typeshed: `logging.info` or `Logger.info` (through `logging.getLogger(...)`)
            return "log" if value.defn.qualname.rsplit(".", 1)[-1] in LOG_METHODS else ""
        if value.kind == "unknown" and is_logger_method(site.target):
            return "log"  # `logger = logging.getLogger(...)` is not followed: a logger by name
        return ""

    def scope_is_async(self, facts: ModuleFacts, scope: str) -> bool:
        tables = self.tables(facts.module)
        found = tables.scopes.get(scope) if tables is not None and scope else None
        return found is not None and found.is_async

    # -- helpers for messages ----------------------------------------------------------------------
    def async_sibling(self, value: Value) -> str | None:
        """`get_manager` -> `get_manager_async` / `async_get_manager` / `aget_manager`, if it is async."""
        source = value.origin if value.origin is not None else value
        if source.defn is None or source.defn.kind != "function":
            return None
        qualname = source.defn.qualname
        prefix, _, short = qualname.rpartition(".")
        tables = self.tables(source.module)
        if tables is None:
            return None
        for candidate in (f"{short}_async", f"async_{short}", f"a{short}", f"{short}_coro"):
            full = f"{prefix}.{candidate}" if prefix else candidate
            defs = tables.defs.get(full, [])
            if len(defs) == 1 and defs[0].is_async:
                return candidate
        return None

    # -- test doubles ------------------------------------------------------------------------------
    def awaited_somewhere(self, name: str) -> bool:
        """Whether production code (not tests) writes `await ...name(`: a sync double breaks only that."""
        found = self._awaited.get(name)
        if found is None:
            pattern = re.compile(rb"\bawait\s+(?:[\w.]+\.)?" + re.escape(name.encode()) + rb"\s*\(")
            candidates = sorted(p for p in self.index.tree.grep({name}) if not _TEST_PATH.search(p))
            blobs = self.index.tree.read(candidates)
            found = self._awaited[name] = any(pattern.search(blob) for blob in blobs.values())
        return found

    def patch_target(self, facts: ModuleFacts, site: Site) -> Value:
        if site.target_ref:
            owner = self.value(facts, site.scope, site.target_ref)
            return self.attribute(owner, site.target) if owner.kind != "unknown" else UNKNOWN
        parts = site.target.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if self.index.has_module(module) and self.index.modules.get(module) is not None:
                return self.lookup(module, ".".join(parts[cut:]))
        return UNKNOWN

    def patch_mismatch(self, facts: ModuleFacts, site: Site) -> tuple[str, str, Value] | None:
        target = self.patch_target(facts, site)
        if target.kind != "function" or target.defn is None:
            return None
        result = self.call(target)
        target_async = result.awaitable()
        if target_async is None:
            return None
        double = self.value(facts, site.scope, site.double)
        if double.kind == "asyncmock":
            double_async: bool | None = True
        elif double.kind in ("syncmock", "lambda"):
            double_async = False
        elif double.kind == "function" and double.defn is not None and not double.defn.never_returns:
            double_async = self.call(double).awaitable()
        else:
            double_async = None
        if double_async is None or double_async == target_async:
            return None
        if not double_async and not self.awaited_somewhere(target.defn.qualname.rsplit(".", 1)[-1]):
            return None  # nothing awaits the target directly (e.g. a runner that accepts both kinds)
        name = site.target if not site.target_ref else f"{target.defn.qualname}"
        if not site.target_ref:
            name = site.target
        code = "AG201" if double_async else "AG202"
        return code, name, target
