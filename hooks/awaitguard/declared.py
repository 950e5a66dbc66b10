"""Annotations: what a declared type is, and what a def declares it returns.

A declared class is an instance of it (no constructor runs); a union is read member by member
(`X | None` is what a use past a `None` check sees); `Callable[..., R]` is called into an R;
`Coroutine`/`Awaitable` are awaitable; `Any` and type variables are unknown. A def's declared
result is trusted where its body is not conclusive (a stub, an abstract method, a hook).
"""

from __future__ import annotations

import ast
import re

from awaitguard.containers import CONTAINERS, DEFAULT_METHODS
from awaitguard.model import Ref, is_call
from awaitguard.refs import PLAIN_TYPE_NAMES, annotation_ref, dotted, parse_annotation, ref_of
from awaitguard.resolving import Resolving, class_scope
from awaitguard.values import ABC_BASES, UNKNOWN, Value

AWAITABLE_ANNOTATION = re.compile(
    r"\b(Awaitable|Coroutine|CoroutineType|Future|Task|Any|AsyncIterator|AsyncGenerator)\b"
)
_ANY_TYPES = frozenset({"Any", "object", "TypeVar"})
# the outer types of a return annotation that may be (or hold, for `Any`) an awaitable
_AWAITABLE_OUTER = frozenset(
    {"Awaitable", "Coroutine", "CoroutineType", "Future", "Task", "Any", "AsyncIterator", "AsyncGenerator"}
)


# the `typing`/`collections.abc` collections that are no protocols: an instance is one by inheritance (or
# registration), as type checkers read it, and none of them has `__await__`
_NOMINAL_ABCS = frozenset(
    {"Sequence", "MutableSequence", "Mapping", "MutableMapping", "AbstractSet", "Set", "MutableSet"}
)


def _flat_members(node: ast.expr, depth: int = 0) -> list[ast.expr] | None:
    """The members of a union, nested unions and forward references in it flattened."""
    members = _union_members(node)
    if members is None or depth > 4:
        return members
    flat: list[ast.expr] = []
    for member in members:
        if isinstance(member, ast.Constant) and isinstance(member.value, str):
            member = parse_annotation(member.value) or member
        flat.extend(_flat_members(member, depth + 1) or [member])
    return flat


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


def _named_types(node: ast.expr, depth: int) -> list[tuple[ast.expr, bool]]:
    """The names a declared type is (itself, a union's members, a forward reference's, `Annotated`'s first),
    each with whether it is the whole type: where a type alias may stand for an awaitable."""
    if depth > 4:
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parsed = parse_annotation(node.value)
        return [] if parsed is None else _named_types(parsed, depth + 1)
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = dotted(node)
        return [(node, depth == 0)] if name and name not in PLAIN_TYPE_NAMES else []
    members = _union_members(node)
    if members is not None:
        return [(named, False) for m in members for named, _ in _named_types(m, depth + 1)]
    if isinstance(node, ast.Subscript) and dotted(node.value).rsplit(".", 1)[-1] == "Annotated":
        first = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
        return _named_types(first, depth + 1)
    return []


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _none_value(value: Value) -> bool:
    return value.kind == "builtin" and value.name == "None"


def _unparse_short(node: ast.expr) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def declares_union(annotation: str) -> bool:
    """Whether a return annotation is a union of two types or more besides `None` (`A | B`, `Optional[Union[A, B]]`)."""
    node = parse_annotation(annotation)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        node = parse_annotation(node.value)
    members = _flat_members(node) if node is not None else None
    return members is not None and sum(not _is_none(m) for m in members) > 1


def declares_coroutine(annotation: str) -> bool:
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


def may_declare_awaitable(annotation: str) -> bool:
    """Whether a return annotation may declare an awaitable (or `Any`): its own type or a union member's
    does, not a type argument inside it (`dict[str, Any]` is a dict, `list[Awaitable[int]]` a list)."""
    if not AWAITABLE_ANNOTATION.search(annotation):
        return False
    node = parse_annotation(annotation)
    return node is None or _may_await(node, 0)


def _may_await(node: ast.expr, depth: int) -> bool:
    if depth > 4:
        return True
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, str):
            return False  # `None`
        inner = parse_annotation(node.value)  # a forward reference
        return inner is None or _may_await(inner, depth + 1)
    members = _union_members(node)
    if members is not None:
        return any(_may_await(m, depth + 1) for m in members)
    outer = dotted(node.value if isinstance(node, ast.Subscript) else node).rsplit(".", 1)[-1]
    if outer == "Annotated" and isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
        return _may_await(node.slice.elts[0], depth + 1)
    return not outer or outer in _AWAITABLE_OUTER


def awaits_to(annotation: str) -> str | None:
    """What an `__await__` declared ``-> Generator[Any, None, X]`` gives: ``X`` (as written), else None."""
    node = parse_annotation(annotation)
    if not (isinstance(node, ast.Subscript) and dotted(node.value).rsplit(".", 1)[-1] == "Generator"):
        return None
    args = node.slice.elts if isinstance(node.slice, ast.Tuple) else []
    return ast.unparse(args[2]) if len(args) == 3 else None


def declares_self(annotation: str) -> bool:
    """Whether a declared type, as written (quoted or not), is `Self` (`typing.Self`, `typing_extensions.Self`, or
    through a module alias, `te.Self`): the receiver's class, for a method's result and for what `__enter__`
    gives alike."""
    return annotation.strip("'\"").rsplit(".", 1)[-1] == "Self"


class Declared(Resolving):
    def _declared_instance(self, cls: Value) -> Value:
        """An instance of a declared type (an annotation): no constructor runs, so no `__new__` doubt."""
        if cls.kind == "alias" or cls.kind == "typevar":
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
                return Value("awaitable", name="...", resolver=self)  # which def makes it is not known
        elif isinstance(node, (ast.Name, ast.Attribute)) and dotted(node).rsplit(".", 1)[-1] in _ANY_TYPES:
            return UNKNOWN
        ref = annotation_ref(node)
        return self._value(module, scope, ref) if ref else UNKNOWN

    def _element(self, module: str, scope: str, ref: Ref) -> Value:
        """`a, b = pair()` (or `= await pair()`) with `def pair() -> tuple[Conn, int]`: the element the last step
        (``#elt:i/n``) names, an instance or a builtin, when the def declares a tuple of exactly n types."""
        at, _, count = ref[-1][5:].partition("/")
        awaited = ref[-2] == "#await"
        call = ref[:-2] if awaited else ref[:-1]
        if not call or not is_call(call[-1]) or not at.isdigit() or not count.isdigit():
            return UNKNOWN
        callee = self._value(module, scope, call[:-1]) if len(call) > 1 else UNKNOWN
        if callee.kind != "function" or callee.defn is None:
            return UNKNOWN
        fn, special = self._effective(callee)  # decorators applied
        defn = fn.defn if fn is not None and not special else None
        if fn is None or defn is None or defn.is_generator or defn.is_async != awaited:
            return UNKNOWN
        node = parse_annotation(defn.returns_annotation) if defn.returns_annotation else None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node = parse_annotation(node.value)
        if not (
            isinstance(node, ast.Subscript)
            and dotted(node.value).rsplit(".", 1)[-1] in ("tuple", "Tuple")
            and isinstance(node.slice, ast.Tuple)
            and len(node.slice.elts) == int(count)
            and not any(isinstance(e, ast.Constant) and e.value is Ellipsis for e in node.slice.elts)
        ):
            return UNKNOWN
        element = annotation_ref(node.slice.elts[int(at)])
        found = self._value(fn.module, class_scope(defn), element) if element else UNKNOWN
        return found if found.kind in ("instance", "builtin") else UNKNOWN

    def _many(self, element: Value, container: str) -> Value:
        """A declared container of one type (`list[Conn]`, `dict[str, Conn]`, ``containers``): its item in
        ``members`` (an instance, a union, a container of one type), and for an instance item its class in ``defn``."""
        spec = CONTAINERS.get(container)
        if spec is None:
            return UNKNOWN
        if element.kind not in ("instance", "union", "many") or (element.kind == "instance" and element.defn is None):
            # an item type that is not known (`Dict[str, Any]`): a builtin container is still one
            return Value("builtin", name=spec.concrete, resolver=self) if spec.concrete else UNKNOWN
        # ``name`` is set for builtin containers only (`list`, `dict`, `tuple`): those are never awaitable
        return Value(
            "many",
            module=element.module,
            path=element.path,
            defn=element.defn if element.kind == "instance" else None,
            name=spec.concrete,
            members=(element,),
            container=container,
            resolver=self,
        )

    def _item(self, iterable: Value) -> Value:
        """What `for x in iterable` binds: the item, except a mapping's (iteration gives its keys)."""
        if iterable.kind == "builtin" and iterable.container:  # declared without item types: from its stores
            iterable = self._stored_items(iterable)
        spec = CONTAINERS.get(iterable.container) if iterable.kind == "many" else None
        return UNKNOWN if spec is None or spec.family == "map" else iterable.members[0]

    def _subscripted(self, value: Value) -> Value:
        """`x[i]` (not a slice): the item of a sequence, the value of a mapping."""
        if value.kind == "builtin" and value.container:
            value = self._stored_items(value)
        spec = CONTAINERS.get(value.container) if value.kind == "many" else None
        return UNKNOWN if spec is None or spec.family not in ("seq", "map") else value.members[0]

    def _item_method(self, value: Value, name: str) -> Value:
        """`conns.pop`, `by_name.get`: a method whose call gives an item (a `Callable[..., Item]`)."""
        spec = CONTAINERS.get(value.container)
        if spec is None or name not in spec.methods:
            return UNKNOWN
        # ``name``: a method that may be given a default (``calls.call`` reads the call's arguments)
        shown = name if name in DEFAULT_METHODS else ""
        return Value("callable", name=shown, members=(value.members[0],), resolver=self)

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
        if returns_self or declares_self(declared) or declared == owner:
            return Value("instance", module=manager.module, path=manager.path, defn=manager.defn, resolver=self)
        if enter.path.startswith("<stubs>/") and declared:  # a shipped stub declares what it enters
            found = self._declared(enter)
            return found.replace(origin=None) if found.kind == "instance" else UNKNOWN
        return UNKNOWN

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
        if may_declare_awaitable(annotation):
            return UNKNOWN  # Any, or an awaitable (a union member)
        return self._declared(fn)

    def _declared(self, fn: Value) -> Value:
        """The result a sync def declares, when that is a project class or a builtin; a union (`A | B`,
        `Optional[A]`, an alias of one) member by member, `None` left out."""
        assert fn.defn is not None
        node = parse_annotation(fn.defn.returns_annotation)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a forward reference
            node = parse_annotation(node.value)
        if node is None:
            return UNKNOWN
        return self._declared_result(fn, fn.module, class_scope(fn.defn), node, 0)

    def _declared_result(self, fn: Value, module: str, scope: str, node: ast.expr, depth: int) -> Value:
        """What the declared type ``node`` (read in ``module``'s ``scope``: the def's, or a type alias's) says a
        call of ``fn`` gives."""
        members = _flat_members(node)
        if members is None:
            return self._declared_type(fn, module, scope, node, depth)
        values: list[Value] = []
        for member in members:
            if not _is_none(member):
                found = self._declared_type(fn, module, scope, member, depth + 1)
                # an alias of a union: its members, `None` left out
                values.extend(v for v in (found.members if found.kind == "union" else (found,)) if not _none_value(v))
        if not values:
            return Value("plain", origin=fn, resolver=self)
        if any(v.kind == "unknown" for v in values):
            return UNKNOWN
        if len(set(values)) == 1:
            return values[0]  # `X | None`: what a use that passes a `None` check sees
        return Value("union", name=_unparse_short(node), members=tuple(values), origin=fn, resolver=self)

    def _declared_type(self, fn: Value, module: str, scope: str, node: ast.expr, depth: int) -> Value:
        """One type of a def's declared result (not a union)."""
        assert fn.defn is not None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and depth < 4:  # a forward reference
            parsed = parse_annotation(node.value)
            if parsed is None:
                return UNKNOWN
            if _union_members(parsed) is None:
                return self._declared_type(fn, module, scope, parsed, depth + 1)
            return self._declared_result(fn, module, scope, parsed, depth + 1)
        if _is_none(node):
            return Value("plain", origin=fn, resolver=self)
        if declares_self(dotted(node)) and "." in fn.defn.qualname and module == fn.module:
            # the receiver's class, not the defining one: `Mem().with_mw()` of `Base.with_mw(self) -> Self` is a
            # `Mem`; reached otherwise (through `self`, on the class), the class or a subclass, as `self` is
            receiver = fn.receiver
            if receiver is None or receiver.defn is None:
                owner = self._local_def(fn.module, fn.defn.qualname.rsplit(".", 1)[0])
                if owner.kind != "class" or owner.defn is None:
                    return UNKNOWN
                receiver = Value("instance", module=owner.module, path=owner.path, defn=owner.defn, self_ref=True)
            if self.class_has(receiver, "__await__") is False:
                return Value(
                    "instance",
                    module=receiver.module,
                    path=receiver.path,
                    defn=receiver.defn,
                    self_ref=receiver.self_ref,
                    origin=fn,
                    resolver=self,
                )
            return UNKNOWN
        many = annotation_ref(node)
        if many[-1:] and many[-1].startswith("#many:"):  # `-> list[Conn]`: its items are known too
            found = self._value(module, scope, many)
            if found.kind == "many":
                return found.replace(origin=fn)
        if isinstance(node, ast.Subscript):
            node = node.value  # dict[str, int] -> dict
        name = dotted(node)
        if name in PLAIN_TYPE_NAMES:
            return Value("plain", origin=fn, resolver=self)
        if not name:
            return UNKNOWN
        declared = self._value(module, scope, ref_of(node))
        if (
            declared.kind == "external"
            and declared.name.rsplit(".", 1)[-1] in _NOMINAL_ABCS
            and declared.name in ABC_BASES
        ):
            # `-> Sequence[...]`, `-> Mapping[...]`: no `__await__`, and not a protocol some awaitable may match
            return Value("plain", origin=fn, resolver=self)
        if declared.kind == "alias":  # `-> AnyAddon`, an alias of `Union[Addon, AddonStore]`, of `Optional[Conn]`...
            return self._aliased(fn, declared, depth)
        if declared.kind != "class" or declared.defn is None:
            return UNKNOWN
        has_await = self.class_has(declared, "__await__")
        # a protocol that does not declare `__await__`: its declared members are known, `await` on it is not;
        # a class with `__await__` keeps its class (``calls.awaited`` reads what its `__await__` gives)
        if has_await is not None or (self._is_protocol(declared) and self._known_mro(declared)):
            return Value(
                "instance", module=declared.module, path=declared.path, defn=declared.defn, origin=fn, resolver=self
            )
        return UNKNOWN

    def _awaitable_alias(self, fn: Value) -> Value | None:
        """A def's declared result naming a type alias of an awaitable (or of `Any`), where ``calls._result``
        trusts the declaration as it trusts `-> Awaitable[T]` written in place: a coroutine for the whole
        result an alias of `Coroutine[...]`, else unknown; None when no alias there may declare an awaitable."""
        assert fn.defn is not None
        node = parse_annotation(fn.defn.returns_annotation)
        if node is None:
            return None
        scope = class_scope(fn.defn)
        for named, whole in _named_types(node, 0):
            found = self._value(fn.module, scope, ref_of(named))
            if found.kind == "external" and found.name.rsplit(".", 1)[-1] == "Any":
                return UNKNOWN  # `Anything: TypeAlias = Any`
            if found.kind == "alias" and self._alias_may_await(found, 0):
                if whole and declares_coroutine(found.name):
                    return Value("coroutine", origin=fn, resolver=self)
                return UNKNOWN
        return None

    def _alias_may_await(self, alias: Value, depth: int) -> bool:
        if may_declare_awaitable(alias.name):
            return True
        node = parse_annotation(alias.name)
        if node is None or depth > 4:
            return node is None
        for named, _ in _named_types(node, 0):
            found = self._value(alias.module, "", ref_of(named))
            if found.kind == "alias" and self._alias_may_await(found, depth + 1):
                return True
        return False

    def _aliased(self, fn: Value, alias: Value, depth: int) -> Value:
        """A declared result naming a type alias (``alias.name`` its text, read in its own module): what the
        aliased type declares, as if written in place; an alias of an awaitable (or of `Any`) is unknown, as
        that declaration is (``calls._result`` trusts it)."""
        node = parse_annotation(alias.name)
        if node is None or depth > 4 or may_declare_awaitable(alias.name):
            return UNKNOWN
        found = self._declared_result(fn, alias.module, "", node, depth + 1)
        return found.replace(origin=fn) if found.kind != "unknown" else UNKNOWN
