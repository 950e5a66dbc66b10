"""The refs the walk records for expressions: what an assignment binds (``value_ref``: a `None`
apart, a type alias as its text), what an annotation declares (``declared_ref``: a union or a
`Callable[...]` as its text, for the resolver to read member by member), and what a site judges
(``site_ref``: a literal as an instance of its builtin type, with the expression as written).
"""

from __future__ import annotations

import ast
import builtins

from awaitguard.containers import CONTAINERS
from awaitguard.model import (
    NONE_REF,
    UNKNOWN_REF,
    Ref,
)
from awaitguard.refs import (
    annotation_ref,
    dotted,
    parse_annotation,
    ref_of,
)

BUILTIN_CALLS = frozenset(f"n:{name}" for name in dir(builtins))  # `len(x) == 0`: no coroutine to find


def unparse(node: ast.expr) -> str:
    """``ast.unparse(node)``, without building an unparser for a plain (dotted) name or ``None``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        name = dotted(node)
        if name:
            return name
    elif isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return ast.unparse(node)


# the builtin type of a literal or display, for the sites that judge it (`async for x in [1, 2]`)
# the builtin type of a literal or display, for the sites that judge it (`async for x in [1, 2]`)
_LITERAL_TYPES: dict[type[ast.AST], str] = {
    ast.List: "list",
    ast.ListComp: "list",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.DictComp: "dict",
    ast.Set: "set",
    ast.SetComp: "set",
    ast.JoinedStr: "str",
    ast.Compare: "bool",
}


def value_ref(node: ast.expr, alias: bool = False) -> Ref:
    """What an assignment binds: ``ref_of``, and `None` apart (``NONE_REF``): a `None` default merged with a
    value assigned elsewhere (`self.proc = None` here, `self.proc = Proc()` there) is that value. A type
    alias (`Handler = Callable[[int], Awaitable[None]]`, `Key = Union[int, str]`) at module or class level
    (``alias``) is its text (``"a:..."``)."""
    kind = type(node)
    if kind is ast.Call and alias:
        bound = _typevar_bound(node)  # type: ignore[arg-type]
        if bound is not None:
            text = alias_ref(bound, statement=True)[0]
            return (f"v:{text[2:]}",) if text.startswith("a:") else UNKNOWN_REF
    if kind is ast.Call or kind is ast.Name or kind is ast.Attribute:  # the common cases, with no more tests
        return ref_of(node)
    if isinstance(node, ast.Constant) and node.value is None:
        return NONE_REF
    if alias and (
        # `Connections = List[Connection]` too: a container of one type (``containers``)
        (isinstance(node, ast.Subscript) and dotted(node.value).rsplit(".", 1)[-1] in _ALIAS_FORMS)
        # `READ | WRITE` may be flags: `X | None` is a type
        or (isinstance(node, ast.BinOp) and _union_with_none(node))
    ):
        return (f"a:{unparse(node)}",)
    return ref_of(node)


def _typevar_bound(node: ast.Call) -> ast.expr | None:
    """`T = TypeVar("T", bound=Base)`: ``Base``, what a `T` annotation declares as type checkers read its
    members (an instance of the bound); None for any other call, and for a TypeVar without a bound."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name != "TypeVar":
        return None
    return next((k.value for k in node.keywords if k.arg == "bound"), None)


def alias_ref(node: ast.expr, statement: bool = False) -> Ref:
    """What a declared type alias binds: `X: TypeAlias = V` (``statement``: `type X = V`, Python 3.12+). A
    name (`Conn: TypeAlias = Connection`, or `"Connection"`) is the class itself, as a plain assignment is
    (calling it makes an instance); any other type (`Union[A, B]`, `Optional[A]`, `Sequence["Rec"]`,
    `Callable[..., Awaitable[T]]`) is its text (``"a:..."``). `type X = V` makes a `TypeAliasType`, never
    the class: always its text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parsed = parse_annotation(node.value)
        if parsed is None:
            return UNKNOWN_REF
        node = parsed
    if not statement and isinstance(node, (ast.Name, ast.Attribute)):
        return ref_of(node)
    return (f"a:{unparse(node)}",)


def _union_with_none(node: ast.BinOp) -> bool:
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        if isinstance(node.right, ast.Constant) and node.right.value is None:
            return True
        if isinstance(node.left, ast.Constant) and node.left.value is None:
            return True
        node = node.left  # type: ignore[assignment]
    return False


_TYPE_FORMS = frozenset({"Union", "Optional", "Callable"})
_ALIAS_FORMS = _TYPE_FORMS | frozenset(CONTAINERS)
BARE_QUALIFIERS = frozenset(
    f"{module}{name}" for module in ("", "typing.", "typing_extensions.") for name in ("TypeAlias", "Final", "ClassVar")
)


def _type_form(node: ast.expr) -> str:
    """The text of a union or a `Callable[...]` annotation, "" for any other expression."""
    if isinstance(node, ast.BinOp):
        return unparse(node) if isinstance(node.op, ast.BitOr) else ""
    if isinstance(node, ast.Subscript) and dotted(node.value).rsplit(".", 1)[-1] in _TYPE_FORMS:
        return unparse(node)
    return ""


def declared_ref(node: ast.expr) -> Ref:
    """``annotation_ref``, and a union or a `Callable[...]` as its text (``"t:..."``): the resolver reads it
    member by member (`int | str`, `Callable[..., Coroutine[Any, Any, T]]`)."""
    kind = type(node)
    if kind is ast.Name or kind is ast.Attribute:  # the common case: a class, no union or `Callable` to read
        return annotation_ref(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parsed = parse_annotation(node.value)
        if parsed is None:
            return UNKNOWN_REF
        node = parsed
    if not (isinstance(node, ast.Subscript) and dotted(node.value).rsplit(".", 1)[-1] == "Callable"):
        ref = annotation_ref(node)
        if ref:
            return ref
    form = _type_form(node)
    return (f"t:{form}",) if form else UNKNOWN_REF


_CONSTANT_TYPES = frozenset({"int", "float", "complex", "bool", "str", "bytes"})


def site_ref(node: ast.expr) -> tuple[Ref, str]:
    """``ref_of(node)`` for a site, and the expression as written when the ref cannot show it: a literal
    is an instance of its builtin type (``("b:list",)``), shown as written (`await 1`, not `await plain`)."""
    ref = ref_of(node)
    if not ref or ref[0] not in ("plain", "lambda", "genexp"):
        return ref, ""
    if isinstance(node, ast.Constant):
        name = type(node.value).__name__
        name = name if name in _CONSTANT_TYPES else ""
    elif isinstance(node, ast.UnaryOp):
        name = "bool"  # `not x`, the only unary operation that is a plain ref
    else:
        name = _LITERAL_TYPES.get(type(node), "")
    return ((f"b:{name}",) if name else ref), unparse(node)
