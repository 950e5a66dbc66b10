"""Frozen value types shared by every layer. Imports nothing of ours."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

from awaitguard.suppress import suppressed

# A reference is a linear description of an expression, resolved later by ``resolve``:
#   ("n:name", ".attr", "()", ...)   name, attribute access, call ("()" passes nothing; a call passing
#                                    arguments spells them: "(_,stream=True)", ``overloads.call_step``)
#   ("self", ...), ("cls", ...), ("super", ...)
#   ("super:C:self", ...)            super(C, self): as super() when C is the enclosing class, self its first parameter
#   ("m:pkg.mod", ...)               importlib.import_module("pkg.mod") / __import__
#   ("plain",)                       a value known not to be awaitable (literal, display, lambda ...)
#   ("asyncmock",), ("syncmock",)    a unittest.mock double (awaitable / not awaitable when called)
#   (..., "#inst")                   an instance of the class before it (a declared type)
#   (..., "#builtin:list")           an instance of a builtin type, when the name before it is the builtin
#   ("b:list",)                      a literal or display of a builtin type (`[1, 2]`), at a site
#   ("p:value",)                     after the branches of `return v.decode() if isinstance(v, bytes) else v`:
#                                    the parameter is returned unchanged unless it is an instance of a builtin
#                                    type; unknown as a value
#   (..., "#enter"), (..., "#aenter") what `with`/`async with` binds with `as`
#   (..., "#many:List")              a declared container of the type before it (``containers``)
#   (..., "#item"), (..., "#sub")    what `for` over the value before it binds; its subscript by one index or key
#   ()                               unknown
Ref = tuple[str, ...]
UNKNOWN_REF: Ref = ()
PLAIN_REF: Ref = ("plain",)
NONE_REF: Ref = ("none",)  # an assigned `None`: dropped when merged with other values
MEMO_LIMIT = 500_000  # entries a per-process memo of names or refs keeps before it starts again


# The facts of a parse (hundreds of thousands a full scan) are named tuples: immutable, hashable and
# printed like frozen dataclasses, and built by one generated ``__new__`` that hands a tuple to
# ``tuple.__new__``, where a frozen dataclass's ``__init__`` writes each field through
# ``object.__setattr__`` (4x slower; a version calling each slot's setter was still 2x). Walking the
# bench tree's async files took 13-17% less CPU, unpickling a worker's facts 30-50% less. Being
# tuples, they equal any tuple of the same values: nothing compares facts of different kinds.
# The facts cache keeps one folder per ``FACTS_FORMAT``: bump it when a fact's fields change.
FACTS_FORMAT = 26


class Awaitability(enum.Enum):
    AWAITABLE = "awaitable"
    NOT_AWAITABLE = "not-awaitable"
    UNKNOWN = "unknown"


class ParamFact(NamedTuple):
    """A parameter of an ``@overload``-ed def, as ``overloads.choose`` reads it."""

    name: str
    kind: str  # "positional-only" | "either" | "keyword" | "*" | "**"
    default: bool  # it has a default (`*args` and `**kwargs` count as having one)
    literals: tuple[str, ...] | None = None  # a `Literal[...]` annotation: its values, spelt as a call step


class DefFact(NamedTuple):
    """A ``def``/``async def`` (function, method, property) or a ``class``."""

    qualname: str  # within the module: "Manager.get", "outer.inner"
    kind: str  # "function" | "class"
    line: int
    col: int
    is_async: bool = False
    is_generator: bool = False  # contains yield (sync -> generator, async -> async generator)
    decorators: tuple[Ref, ...] = ()
    returns: tuple[Ref, ...] = ()  # refs of returned expressions; PLAIN_REF for bare/None
    returns_param: bool = False  # returns a parameter or something derived from the caller
    returns_annotation: str = ""  # unparsed return annotation ("" when absent)
    params: tuple[str, ...] = ()
    # class only
    bases: tuple[Ref, ...] = ()
    members: tuple[str, ...] = ()  # names defined in the class body
    attrs: tuple[tuple[str, str, Ref], ...] = ()  # (name, scope the ref is resolved in, ref)
    has_metaclass: bool = False
    dynamic: bool = False  # defines __getattr__/__new__ or has a metaclass: members are not all known
    is_stub: bool = False  # body is only `...`, `pass`, a docstring or `raise NotImplementedError`
    is_abstract: bool = False
    never_returns: bool = False  # the body ends in `raise` or `pytest.fail(...)` and returns nothing
    signature: tuple[ParamFact, ...] = ()  # an `@overload`: its parameters (``overloads.signature``)


class ImportFact(NamedTuple):
    """``name`` is bound to ``module`` (``attr`` None) or to ``module.attr``."""

    name: str
    module: str  # absolute
    attr: str | None
    line: int
    scope: str = ""  # "" for module level, else the function qualname


# asyncio's functions whose positional arguments must be awaitable (how many; 0: every one): the walk records
# each call handed to one as an "await-arg" site, judged by AG111 (``rules.handed``)
AWAITABLE_ARGUMENTS: dict[str, int] = {
    "create_task": 1,
    "ensure_future": 1,
    "gather": 0,
    "shield": 1,
    "wait_for": 1,
    "run": 1,
    "run_coroutine_threadsafe": 1,
    "run_until_complete": 1,  # an event loop's (its `create_task` and a task group's go by the name above)
}


class Site(NamedTuple):
    """A place a rule judges. ``kind`` decides which rule looks at it."""

    kind: str  # await | await-outside | async-outside | drop | with | async-with | for | async-for | patch |
    # override (a plain method returning None: ``context`` its class) | await-arg (``AWAITABLE_ARGUMENTS``)
    line: int
    col: int
    scope: str  # enclosing function qualname ("" for module level)
    ref: Ref  # the expression judged (await operand, call, context manager, iterable)
    # drop: statement|unused|bool|fstring|return, or a value use: arithmetic|augmented|compare|in|
    # subscript|attribute|unpack|consumer|format|return-async|return-declared ; patch: form (`assign` or
    # `assign:configured-later` for `obj.attr = MagicMock()` in test code) ;
    # await-outside/async-outside: where it is, def|lambda|module|class:<qualname>
    context: str = ""
    end_line: int = 0
    guarded: bool = False  # under an `if iscoroutinefunction(...)`-style guard
    expects_error: bool = False  # inside `with pytest.raises(TypeError)`
    # patch sites; drop sites of value uses: the operator, attribute, consumer or annotation as written
    # (async-outside: the construct, async for|async with|comprehension)
    target: str = ""  # dotted string target, or attribute name for patch.object
    target_ref: Ref = ()  # object target of patch.object / monkeypatch.setattr(obj, ...); the consumer called
    double: Ref = ()  # the replacement (("asyncmock",), ("syncmock",), a ref to a def, () unknown)
    text: str = ""  # the expression as written, when it differs from what ``ref`` renders

    @property
    def shown(self) -> str:
        """The expression for messages."""
        return self.text or ref_text(self.ref)


def is_call(step: str) -> bool:
    """Whether a ``Ref`` step is a call: ``()``, or one spelling its arguments (``overloads.call_step``)."""
    return step[:1] == "("


def is_declaration(ref: Ref) -> bool:
    """Whether ``ref`` is what an annotation declares (``refs.annotation_ref``, ``exprrefs.declared_ref``):
    an instance of a class, a builtin type, a container of one type, a union or `Callable[...]` as written."""
    return bool(ref) and (ref[-1] == "#inst" or ref[-1].startswith(("#many:", "#builtin:")) or ref[0][:2] == "t:")


def ref_text(ref: Ref) -> str:
    """``factory.get_manager(...)`` for ("n:factory", ".get_manager", "()")."""
    out = ""
    for step in ref:
        if step.startswith(("n:", "d:")):
            out += step[2:].rsplit(".", 1)[-1]
        elif step.startswith("m:"):
            out += f"importlib.import_module({step[2:]!r})"
        elif is_call(step):
            out += "(...)"
        elif step == "#sub":
            out += "[...]"
        elif step == "#await":
            out = f"(await {out})"
        elif step == "super":
            out += "super()"
        elif step.startswith("super:"):
            out += "super({}, {})".format(*step[6:].split(":", 1))
        else:
            out += step
    return out or "<expression>"


class ScopeFact(NamedTuple):
    """What a function body binds, so names in it can be resolved."""

    qualname: str
    cls: str  # qualname of the enclosing class when this is a method, else ""
    is_async: bool
    params: tuple[str, ...]
    bindings: tuple[tuple[str, Ref], ...]  # local name -> value ref (one entry per assignment)
    parent: str = ""  # enclosing function scope ("" = module)
    is_static: bool = False
    is_classmethod: bool = False
    annotations: tuple[tuple[str, Ref], ...] = ()  # parameter -> ref of its declared class (+ "#inst")
    # the shape of the signature, for mapping a call's arguments to ``params``: how many take positional
    # arguments (-1 when some are positional-only), and whether `*args`/`**kwargs` end ``params``
    positional: int = -1
    varargs: bool = False
    varkw: bool = False
    # the body passes `*args, **kwargs` unchanged to `super().<its own name>(*args, **kwargs)` and does nothing
    # else with them: its parameters are that method's (``params.Params``)
    forwards: bool = False


class ModuleFacts(NamedTuple):
    path: str
    module: str
    is_package: bool
    defs: tuple[DefFact, ...] = ()
    imports: tuple[ImportFact, ...] = ()
    star_imports: tuple[str, ...] = ()
    bindings: tuple[tuple[str, Ref], ...] = ()  # module-level name -> value ref
    all_names: tuple[str, ...] | None = None
    scopes: tuple[ScopeFact, ...] = ()
    sites: tuple[Site, ...] = ()
    # lines carrying an awaitguard-ignore or noqa comment: (line, codes) with "" = every code
    suppressions: tuple[tuple[int, str], ...] = ()
    is_stub_file: bool = False  # a .pyi file: results come from annotations
    rewrites: tuple[Ref, ...] = ()  # classes whose coroutine methods this module makes sync-or-async (rewrites.py)

    def suppressed(self, line: int, code: str) -> bool:
        return suppressed(self.suppressions, line, code)

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled as plain tuples: a named tuple pickles through a Python-level ``__getnewargs__``
        each (a module has hundreds); plain, a worker's facts pickle in ~60% of the time and load
        in ~55%, rebuilt here (a cache entry too)."""
        plain = (
            *self[:3],
            tuple(map(tuple, self.defs)),
            tuple(map(tuple, self.imports)),
            *self[5:8],
            tuple(map(tuple, self.scopes)),
            tuple(map(tuple, self.sites)),
            *self[10:],
        )
        return (_facts_from_plain, (plain,))


def _facts_from_plain(plain: tuple[Any, ...]) -> ModuleFacts:
    """``ModuleFacts.__reduce__``, undone (``_make`` checks each record's length: a cache entry
    written by another layout fails to load, and counts as a miss)."""
    path, module, is_package, defs, imports, star, bindings, all_names, scopes, sites, *rest = plain
    return ModuleFacts(
        path,
        module,
        is_package,
        tuple(map(DefFact._make, defs)),
        tuple(map(ImportFact._make, imports)),
        star,
        bindings,
        all_names,
        tuple(map(ScopeFact._make, scopes)),
        tuple(map(Site._make, sites)),
        *rest,
    )


class FileChange(NamedTuple):
    path: str  # path after the change (the old path for a deletion)
    status: str  # "A" added, "M" modified, "D" deleted, "R" renamed
    old_path: str | None = None  # path before the change (None when added)
    lines: frozenset[int] = frozenset()  # added or modified line numbers in the new version


class Scope(NamedTuple):
    """What a commit changes, as git sees it."""

    mode: str  # "staged" | "range" | "files" | "all"
    base: str | None  # revision the change is measured against (None: no HEAD yet)
    target: str | None  # None = the index; else a revision
    changes: tuple[FileChange, ...] = ()
    note: str = ""  # a one-line notice for the user (e.g. "git not found: scanning the given files")
