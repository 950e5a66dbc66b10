"""Expressions as ``Ref`` tuples, and the small syntax predicates the facts walk relies on."""

from __future__ import annotations

import ast
import builtins
import functools
import re
from collections.abc import Iterable
from typing import Any

from awaitguard.containers import CONTAINERS
from awaitguard.model import MEMO_LIMIT, PLAIN_REF, UNKNOWN_REF, Ref, is_call
from awaitguard.overloads import call_step

_GUARD = re.compile(r"(?i)coroutine|awaitable|async|isfuture")
GUARD_BYTES = re.compile(rb"(?i)coroutine|awaitable|async|isfuture")
PLAIN_NODES = (
    ast.Constant,
    ast.JoinedStr,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.Compare,
)
# builtin result types that are never awaitable (one table, for annotations and declared results)
PLAIN_TYPE_NAMES = frozenset(
    {
        "Dict",
        "FrozenSet",
        "List",
        "None",
        "Optional",
        "Set",
        "Tuple",
        "bool",
        "bytearray",
        "bytes",
        "complex",
        "dict",
        "float",
        "frozenset",
        "int",
        "list",
        "set",
        "str",
        "tuple",
        "typing.Dict",
        "typing.List",
    }
)

# functions that can only want a coroutine's result: dotted name -> what they do with a coroutine instead
CONSUMERS: dict[str, str] = {
    "len": "len",
    "int": "number",
    "float": "number",
    "bool": "bool",
    "str": "text",
    "repr": "text",
    "print": "text",
    "json.dumps": "json",
    **dict.fromkeys(("sum", "sorted", "list", "dict", "set", "tuple", "min", "max"), "iterable"),
}
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"})
_LOGGER = re.compile(r"(?i)^_*(?:log|logger)$")


# annotations naming a builtin type, and the type an instance of it has at run time (`typing.List` is `list`)
BUILTIN_TYPES: dict[str, str] = {
    **{name: name for name in ("int", "float", "complex", "bool", "str", "bytes", "bytearray")},
    **{name: name for name in ("list", "dict", "set", "frozenset", "tuple")},
    **{alias: alias.lower() for alias in ("List", "Dict", "Set", "FrozenSet", "Tuple")},
}
# what the resolver accepts a builtin type's name to resolve to (not a project class of that name)
BUILTIN_NAMES = frozenset(BUILTIN_TYPES) | frozenset(
    f"typing.{alias}" for alias in ("List", "Dict", "Set", "FrozenSet", "Tuple")
)


def dotted(node: ast.expr) -> str:
    """``a.b.c`` for a Name/Attribute chain, else ""."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


_PLAIN_TYPES = frozenset(PLAIN_NODES)  # ``type(node) in``: parsed trees hold no subclasses of these
_SPECIAL_CALLS = frozenset({"getattr", "import_module", "__import__", "super", "partial"})
# unittest.mock's classes (pytest-mock's `mocker` hands out the same): the facts walk and the policy walk
MOCK_CLASSES = frozenset({"Mock", "MagicMock", "AsyncMock", "NonCallableMock", "NonCallableMagicMock"})


# one tuple per name: built once, and shared by every fact that refers to it (pickled once per module)
_NAME_REFS: dict[str, Ref] = {}


def ref_of(node: ast.expr | None) -> Ref:
    """A symbolic, serialisable description of what ``node`` evaluates to.

    Dispatched on ``type(node)`` (one lookup) rather than a chain of ``isinstance``: this runs for
    most expressions of every parsed file.
    """
    n: Any = node  # its type is checked by hand, below
    kind = type(n)
    if kind is ast.Name:
        ref = _NAME_REFS.get(n.id)
        if ref is None:
            if len(_NAME_REFS) >= MEMO_LIMIT:
                _NAME_REFS.clear()  # a long-lived process (dmypy) meets names without end
            ref = _NAME_REFS[n.id] = (f"n:{n.id}",)
        return ref
    if kind is ast.Attribute:
        base = ref_of(n.value)
        return (*base, f".{n.attr}") if base and base[0] not in ("plain", "lambda") else UNKNOWN_REF
    if kind is ast.Call:
        return _call_ref(n)
    if node is None or kind in _PLAIN_TYPES:
        return PLAIN_REF
    if kind is ast.Subscript:  # `conns[0]`, `by_name[key]`: an item (``containers``); a slice is no item
        index = n.slice
        if type(index) is ast.Slice or (type(index) is ast.Tuple and any(type(e) is ast.Slice for e in index.elts)):
            return UNKNOWN_REF
        base = ref_of(n.value)
        return (*base, "#sub") if base and base[0] not in ("plain", "lambda") else UNKNOWN_REF
    if kind is ast.UnaryOp and type(n.op) is ast.Not:
        return PLAIN_REF
    if kind is ast.Lambda:
        # a lambda double is sync only when it visibly returns a plain value (it may return a Future)
        return ("lambda",) if type(n.body) in _PLAIN_TYPES else UNKNOWN_REF
    if kind is ast.GeneratorExp:
        # an `await` or `async for` anywhere in it makes an async generator expression (legal in a plain def)
        return UNKNOWN_REF if is_async_genexp(n) else ("genexp",)
    if kind is ast.NamedExpr:
        return ref_of(n.value)
    if kind is ast.Await:  # `await fetch()`: what the coroutine's def returns
        inner = ref_of(n.value)
        return (*inner, "#await") if inner and is_call(inner[-1]) else UNKNOWN_REF
    return UNKNOWN_REF


Comprehension = ast.ListComp | ast.SetComp | ast.DictComp


def _inside(node: Comprehension | ast.GeneratorExp) -> list[ast.AST]:
    """What runs in a comprehension's own scope: all of it but its first iterable (run where it is written)."""
    first, *rest = node.generators
    elts: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
    return [*elts, first.target, *first.ifs, *rest]


def is_async_genexp(node: ast.GeneratorExp) -> bool:
    """Whether ``node`` may be an async generator expression: an ``async for`` clause, or an ``await`` or
    ``async for`` anywhere outside its first iterable (which runs in the enclosing scope) and outside nested
    functions. Wide on purpose: an async comprehension nested in it makes it async from CPython 3.11 on
    (on 3.10 it is a SyntaxError), and one nested in a generator expression of its own does not; either
    way the expression is never judged as a sync generator."""
    if any(gen.is_async for gen in node.generators):
        return True
    stack = _inside(node)
    while stack:
        sub = stack.pop()
        if isinstance(sub, ast.Await):
            return True
        if isinstance(sub, ast.comprehension) and sub.is_async:
            return True
        if not isinstance(sub, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(ast.iter_child_nodes(sub))
    return False


def is_async_comprehension(node: Comprehension) -> bool:
    """Whether the list, set or dict comprehension ``node`` is asynchronous on every CPython (3.10+): an
    ``async for`` clause, or an ``await`` outside its first iterable (which runs in the enclosing scope), or
    such a comprehension nested in it. Generator expressions inside it count by their first iterable only
    (an async one is legal anywhere), nested functions not at all."""
    if any(gen.is_async for gen in node.generators):
        return True
    stack = _inside(node)
    while stack:
        sub = stack.pop()
        if isinstance(sub, ast.Await) or (isinstance(sub, ast.comprehension) and sub.is_async):
            return True
        if isinstance(sub, ast.GeneratorExp):
            stack.append(sub.generators[0].iter)
        elif not isinstance(sub, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(ast.iter_child_nodes(sub))
    return False


def comprehension_text(node: Comprehension) -> str:
    """``[... async for row in rows]``: a comprehension's bracket and first clause, for messages."""
    gen = node.generators[0]
    head = "async for" if gen.is_async else "for"
    more = " ..." if len(node.generators) > 1 or gen.ifs else ""
    clause = f"{head} {ast.unparse(gen.target)} in {ast.unparse(gen.iter)}{more}"
    if isinstance(node, ast.ListComp):
        return f"[... {clause}]"
    return f"{{...: ... {clause}}}" if isinstance(node, ast.DictComp) else f"{{... {clause}}}"


def _call_ref(node: ast.Call) -> Ref:
    func: Any = node.func
    kind = type(func)
    # only a few callee names are special: spell out the dotted name for those alone
    if kind is ast.Name:
        name = func.id if func.id in _SPECIAL_CALLS else ""
    elif kind is ast.Attribute and func.attr in ("import_module", "partial"):
        name = dotted(func)
    else:
        name = ""
    if name:
        special = _special_call_ref(node, name)
        if special is not None:
            return special
    base = ref_of(func)
    return (*base, call_step(node)) if base and base[0] != "plain" else UNKNOWN_REF


def _special_call_ref(node: ast.Call, name: str) -> Ref | None:
    """``getattr(x, "a")``, ``import_module("m")``, ``__import__``, ``super()`` (``super(C, self)``),
    ``partial(f, ...)``."""
    args = node.args
    first = args[0] if args else None
    literal = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    if name == "getattr" and len(args) >= 2:
        second = args[1]
        if isinstance(second, ast.Constant) and isinstance(second.value, str):
            base = ref_of(args[0])
            return (*base, f".{second.value}") if base else UNKNOWN_REF
        return UNKNOWN_REF
    if name in ("importlib.import_module", "import_module") and literal and not literal.startswith("."):
        return (f"m:{literal}",)
    if name == "__import__" and literal:
        fromlist = len(args) >= 4 or any(k.arg == "fromlist" for k in node.keywords)
        return (f"m:{literal if fromlist else literal.split('.')[0]}",)
    if name == "super":
        if not args and not node.keywords:
            return ("super",)
        bound = args[1] if len(args) == 2 else None
        if isinstance(first, ast.Name) and isinstance(bound, ast.Name) and not node.keywords:
            return (f"super:{first.id}:{bound.id}",)  # `super(C, self)`: the resolver checks C and self
        return UNKNOWN_REF
    if name in ("partial", "functools.partial") and first is not None:
        return ref_of(first)  # calling a partial calls the wrapped callable
    return None


@functools.lru_cache(maxsize=4096)
def parse_annotation(text: str) -> ast.expr | None:
    """An annotation written as text (a forward reference, or ``DefFact.returns_annotation``) as an
    expression; None when it does not parse. Cached: the same few annotations come back thousands of
    times in a scan, and each ``ast.parse`` call costs more than the lookup. Callers never change the node.
    """
    try:
        return ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return None


def annotation_ref(node: ast.expr) -> Ref:
    """A declared type as "an instance of this class": ``X``, ``m.X``, ``"X"``, ``X | None``, ``Optional[X]``;
    ``type[X]`` as the class ``X`` itself.

    A builtin type (``int``, ``list[int]``, ``typing.Dict[str, X]``) is ``(name ref, "#builtin:type")``: the
    resolver checks that the name is the builtin (not a project class of that name).
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parsed = parse_annotation(node.value)
        if parsed is None:
            return UNKNOWN_REF
        node = parsed
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [n for n in (node.left, node.right) if not (isinstance(n, ast.Constant) and n.value is None)]
        if len(sides) != 1:
            return UNKNOWN_REF
        node = sides[0]
    if isinstance(node, ast.Subscript):  # Optional[X] -> X; a generic class `Queue[int]` -> Queue
        name = dotted(node.value).rsplit(".", 1)[-1]
        if name in ("Type", "type"):  # `type[Connection]`: the class itself (calling it makes a Connection)
            inner = annotation_ref(node.slice)
            return inner[:-1] if inner and inner[-1] == "#inst" else UNKNOWN_REF
        if name in ("Union", "Annotated", "ClassVar", "Final"):
            return UNKNOWN_REF
        if name == "Optional":
            return annotation_ref(node.slice)
        container = CONTAINERS.get(name)
        if container is not None:  # list[X], Iterable[X], tuple[X, ...], dict[K, X]: items of X (``containers``)
            inner = _item_ref(node.slice, container.family == "map", name in ("tuple", "Tuple"))
            if inner:
                return (*inner, f"#many:{name}")
            if name not in BUILTIN_TYPES:  # `Iterable[int]`: anything iterable, an async iterable included
                return UNKNOWN_REF
        node = node.value
    if not isinstance(node, (ast.Name, ast.Attribute)):
        return UNKNOWN_REF
    name = dotted(node)
    if name in BUILTIN_NAMES:
        return (*ref_of(node), f"#builtin:{BUILTIN_TYPES[name.removeprefix('typing.')]}")
    if name in PLAIN_TYPE_NAMES:
        return UNKNOWN_REF
    ref = ref_of(node)
    return (*ref, "#inst") if ref else UNKNOWN_REF


def _item_ref(args: ast.expr, mapping: bool, tuple_type: bool) -> Ref:
    """The declared item of a container's type arguments ``args``: a class (`list[Conn]`), a container of
    one (`dict[str, list[Conn]]`) or a union as written (``"t:..."``, read member by member); the value of a
    mapping (`dict[str, Conn]`), the one type of `tuple[Conn, ...]`. Empty for anything else."""
    element: ast.expr | None = None
    pair = args.elts if isinstance(args, ast.Tuple) and len(args.elts) == 2 else None
    if pair is None:
        element = None if mapping or isinstance(args, ast.Tuple) else args
    elif mapping:
        element = pair[1]
    elif tuple_type and isinstance(pair[1], ast.Constant) and pair[1].value is Ellipsis:
        element = pair[0]
    if element is None:
        return UNKNOWN_REF
    if isinstance(element, ast.Constant) and isinstance(element.value, str):
        element = parse_annotation(element.value)
        if element is None:
            return UNKNOWN_REF
    inner = annotation_ref(element)
    if inner and (inner[-1] == "#inst" or inner[-1].startswith("#many:")):
        return inner
    if isinstance(element, ast.BinOp) and isinstance(element.op, ast.BitOr):
        return (f"t:{ast.unparse(element)}",)  # `A | B`: judged as a declared union is
    if isinstance(element, ast.Subscript) and dotted(element.value).rsplit(".", 1)[-1] in ("Union", "Optional"):
        return (f"t:{ast.unparse(element)}",)
    return UNKNOWN_REF


def module_name(path: str, roots: Iterable[str]) -> tuple[str, bool]:
    """Module name and is-package for a posix ``path`` under the deepest matching root."""
    best = ""
    for root in roots:
        root = root.strip("/")
        if root in ("", ".") or path.startswith(root + "/"):
            prefix = "" if root in ("", ".") else root
            if len(prefix) >= len(best):
                best = prefix
    rel = path[len(best) + 1 :] if best else path
    stem = rel.rsplit(".", 1)[0]
    parts = stem.split("/")
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def hot_lines(data: bytes, words: tuple[bytes, ...], found: Iterable[int] = ()) -> list[int]:
    """Sorted numbers of the lines holding any of ``words`` (a C-speed search per word), and ``found``."""
    found = set(found)
    for word in words:
        start = data.find(word)
        line, last = 1, 0
        while start != -1:
            line += data.count(b"\n", last, start)
            last = start
            found.add(line)
            start = data.find(word, data.find(b"\n", start) + 1 or len(data))
    return sorted(found)


def word_count(text: bytes, word: bytes) -> int:
    """Occurrences of ``word`` in ``text`` not inside a longer identifier (no regex to compile)."""
    count, start, size = 0, text.find(word), len(word)
    while start != -1:
        before = text[start - 1 : start] if start else b""
        after = text[start + size : start + size + 1]
        if not (before.isalnum() or before == b"_") and not (after.isalnum() or after == b"_"):
            count += 1
        start = text.find(word, start + size)
    return count


def is_guard(test: ast.expr) -> bool:
    """``iscoroutinefunction(fn)``, ``inspect.isawaitable(x)``, ``self.is_async`` ..."""
    for node in ast.walk(test):
        if isinstance(node, ast.Name) and _GUARD.search(node.id):
            return True
        if isinstance(node, ast.Attribute) and _GUARD.search(node.attr):
            return True
    return False


def _misuse_cannot_raise() -> frozenset[str]:
    """Builtin exceptions that no async misuse raises: not TypeError or AttributeError (what the
    interpreter raises), not RuntimeError (a library's own refusal, as trio's for `with
    open_nursery()`), no class above or below them, and no warning (a dropped coroutine's
    RuntimeWarning is raised under `-W error`), no exception group (task groups wrap the TypeError) and
    no ImportError (a renamed definition's importers, AG105)."""
    misuse = (TypeError, AttributeError, RuntimeError, Warning, ImportError)
    names = set()
    for name, value in vars(builtins).items():
        if isinstance(value, type) and issubclass(value, BaseException) and "ExceptionGroup" not in name:
            if not issubclass(value, misuse) and not any(issubclass(m, value) for m in misuse):
                names.add(name)
    return frozenset(names)


_UNRELATED_ERRORS = _misuse_cannot_raise()


_RAISES = re.compile(r"(?:^|\.)(?:raises|assertRaises|assertRaisesRegex)$")


def expects_raise(item: ast.withitem) -> bool:
    """``with pytest.raises(E)``: the body is meant to fail, unless ``E`` is only builtin exceptions that
    the misuse itself cannot raise (a test expecting `PermissionError` around `await sync()` fails with
    `TypeError`). A library's exception, or anything not spelled as a builtin name, may be the misuse's."""
    call = item.context_expr
    if not (isinstance(call, ast.Call) and _RAISES.search(dotted(call.func))):
        return False  # `pytest.raises(...)`, `self.assertRaises(...)`, `self.assertRaisesRegex(...)`
    # `pytest.raises(TypeError)`, or spelled `pytest.raises(expected_exception=TypeError)`
    expected = (
        call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "expected_exception"), None)
    )
    if expected is None:
        return False
    names = expected.elts if isinstance(expected, ast.Tuple) else [expected]
    return not all(isinstance(n, ast.Name) and n.id in _UNRELATED_ERRORS for n in names)


def is_stub_body(body: list[ast.stmt]) -> bool:
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring or `...`
        if (
            isinstance(stmt, ast.Raise)
            and stmt.exc is not None
            and "NotImplemented" in dotted(stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc)
        ):
            continue
        return False
    return True


def ends_in_raise(body: list[ast.stmt]) -> bool:
    last = body[-1]
    if isinstance(last, ast.Raise):
        return True
    return isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and dotted(last.value.func).endswith("fail")


def plain_annotation(node: ast.expr | None) -> bool:
    """True when a return annotation names only plain builtin types."""
    if node is None:
        return False
    if isinstance(node, ast.Name):  # the common cases, without walking
        return node.id in PLAIN_TYPE_NAMES
    if isinstance(node, ast.Attribute):
        return False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in PLAIN_TYPE_NAMES:
            return False
        if isinstance(sub, ast.Attribute):
            return False
        if isinstance(sub, ast.Constant) and sub.value is not None:
            return False  # a string annotation: unknown
    return True


def is_logger_method(name: str) -> bool:
    """``logger.info`` / ``self._log.warning``: a logging call on an object named like a logger."""
    receiver, _, method = name.rpartition(".")
    return method in LOG_METHODS and bool(_LOGGER.match(receiver.rpartition(".")[2]))
