"""Which ``@overload`` of a stub a call gets: chosen by its literal arguments, as a type checker chooses.

This module is the one place that decides it, in three parts:

- **What a call passes** (``call_step``, in the facts walk). A call is a step of a ``Ref``: ``"()"`` when
  it passes nothing, else its arguments in parentheses, positional ones first, then keyword ones, joined
  by ``,``: a constant (``True``, ``False``, ``None``, an int, a short string of word characters) as its
  ``repr`` (``True``, ``'rb'``, ``-1``), anything else ``_``, a ``*args`` as ``*``, a keyword as
  ``name=<item>``, a ``**kwargs`` as ``**``. ``f(tar, stream=True)`` is ``"(_,stream=True)"``.
- **What an overload accepts** (``signature``, in the facts walk): an ``@overload``-ed def records its
  parameters (``ParamFact``): name, kind, whether it has a default, and the values of a ``Literal[...]``
  annotation, spelt as a call step spells them.
- **The choice** (``choose``, in the resolver, when a stub's overloads do not all agree). An overload is
  kept unless one of its ``Literal[...]`` parameters refuses the call: a constant given for it (by keyword
  or position) that is not one of its values (a bool counts as the int it equals, ``True`` as ``1`` and back:
  an implementation testing ``exact == 1`` takes ``True``), or no argument at all where it has no default (so a
  call without the flag keeps the default overload, ``stream: Literal[False] = False``). A variable given for it
  keeps it; a call with ``*args`` or ``**kwargs`` keeps every overload, and so does a call whose arguments
  are not known (a value called outside a call site). Parameters not annotated ``Literal[...]`` are not
  checked: keeping an overload a type checker would drop can only make the kept ones disagree. The kept
  overloads decide when they agree (``agreeing``: all ``async def``, or all ``def`` declaring the same
  result); otherwise, and when none is kept, the call is unknown.

Overloads that all agree need no choice: the stub's first one stands for them (``resolving.Tables``). In
project source the implementation is what runs, and it decides.
"""

from __future__ import annotations

import ast
import functools
import re
from typing import NamedTuple

from awaitguard.model import DefFact, ParamFact, Ref

CALL = "()"  # a call passing no arguments
UNKNOWN_ARG = "_"
_WORDS = re.compile(r"[\w.+/-]{0,24}", re.ASCII)  # a string constant short and plain enough to spell
_STEPS: dict[str, str] = {}  # one string per call step spelt (facts hold thousands of the same few)
_LITERAL_NAMES = frozenset({"Literal", "typing.Literal", "typing_extensions.Literal", "t.Literal"})


def constant_text(node: ast.expr) -> str:
    """A constant argument or ``Literal`` value as a call step spells it; ``_`` for anything else."""
    kind = type(node)
    if kind is ast.Constant:
        value = node.value  # type: ignore[attr-defined]
        if value is None or type(value) is bool or type(value) is int:
            return repr(value)
        if type(value) is str and _WORDS.fullmatch(value):
            return repr(value)
    elif kind is ast.UnaryOp and type(node.op) is ast.USub and type(node.operand) is ast.Constant:  # type: ignore[attr-defined]
        value = node.operand.value  # type: ignore[attr-defined]
        return repr(-value) if type(value) is int else UNKNOWN_ARG  # `-0` is `0`
    return UNKNOWN_ARG


_ONLY_VARIABLES = ["()", *(f"({','.join([UNKNOWN_ARG] * n)})" for n in range(1, 9))]
_SPELT = (ast.Constant, ast.Starred, ast.UnaryOp)  # arguments a call step may spell other than `_`


def call_step(node: ast.Call) -> str:
    """The call step of ``node``: ``()``, or its arguments as the module docstring spells them. Runs for
    most calls of every parsed file: one passing only a few positional non-constants (most) is a list
    lookup."""
    args = node.args
    keywords = node.keywords
    if not keywords and len(args) < len(_ONLY_VARIABLES):
        for arg in args:
            if type(arg) in _SPELT:
                break
        else:
            return _ONLY_VARIABLES[len(args)]
    items = [constant_text(arg) if type(arg) is not ast.Starred else "*" for arg in args]
    items += [f"{k.arg}={constant_text(k.value)}" if k.arg else "**" for k in keywords]
    text = f"({','.join(items)})"
    return _STEPS.setdefault(text, text)


def _literal_values(annotation: ast.expr | None) -> tuple[str, ...] | None:
    if not isinstance(annotation, ast.Subscript):
        return None
    value = annotation.value
    name = value.id if isinstance(value, ast.Name) else ast.unparse(value) if isinstance(value, ast.Attribute) else ""
    if name not in _LITERAL_NAMES:
        return None
    elts = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
    return tuple(text for text in map(constant_text, elts) if text != UNKNOWN_ARG)


def signature(args: ast.arguments) -> tuple[ParamFact, ...]:
    """An overload's parameters, for ``choose``."""
    out: list[ParamFact] = []
    positional = (*args.posonlyargs, *args.args)
    first_default = len(positional) - len(args.defaults)
    for at, arg in enumerate(positional):
        kind = "positional-only" if at < len(args.posonlyargs) else "either"
        out.append(ParamFact(arg.arg, kind, at >= first_default, _literal_values(arg.annotation)))
    if args.vararg:
        out.append(ParamFact(args.vararg.arg, "*", True))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append(ParamFact(arg.arg, "keyword", default is not None, _literal_values(arg.annotation)))
    if args.kwarg:
        out.append(ParamFact(args.kwarg.arg, "**", True))
    return tuple(out)


# a bool and the int it equals at run time: an implementation testing `exact == 1` takes `True` (a type checker
# refuses it for `Literal[1]`; keeping the overload can only make the kept ones disagree)
_EQUAL = {"True": "1", "False": "0", "1": "True", "0": "False"}


class _Passed(NamedTuple):
    positional: tuple[str, ...]
    keywords: tuple[tuple[str, str], ...]
    open_ended: bool  # a `*args` or `**kwargs`: any parameter may be given anything


@functools.lru_cache(maxsize=4096)
def _passed(step: str) -> _Passed:
    positional: list[str] = []
    keywords: list[tuple[str, str]] = []
    open_ended = False
    for item in step[1:-1].split(",") if step != CALL else ():
        if item in ("*", "**"):
            open_ended = True
        elif "=" in item and item[:1] != "'":
            name, _, value = item.partition("=")
            keywords.append((name, value))
        else:
            positional.append(item)
    return _Passed(tuple(positional), tuple(keywords), open_ended)


def accepts(params: tuple[ParamFact, ...], step: str | None, bound: bool) -> bool:
    """Whether an overload with ``params`` may be the one a call with ``step`` gets (``bound``: called on an
    instance, or a classmethod on its class: the first parameter is given)."""
    if step is None:
        return True
    passed = _passed(step)
    if passed.open_ended:
        return True
    if bound and params and params[0].kind in ("positional-only", "either"):
        params = params[1:]
    given: dict[str, str] = {}
    by_position = [p for p in params if p.kind in ("positional-only", "either")]
    for param, item in zip(by_position, passed.positional, strict=False):
        given[param.name] = item
    by_name = {p.name: p for p in params if p.kind in ("either", "keyword")}
    for name, item in passed.keywords:
        if name in by_name:
            given[name] = item
    for param in params:
        if param.literals is None:
            continue
        passed_item = given.get(param.name)
        if passed_item is None:
            if not param.default:
                return False
        elif passed_item != UNKNOWN_ARG and passed_item not in param.literals:
            if _EQUAL.get(passed_item) not in param.literals:
                return False
    return True


def is_overload(decorators: tuple[Ref, ...]) -> bool:
    """Whether a def's decorators (as refs) hold `@overload` (`@typing.overload`...)."""
    return any(dec and dec[-1] in ("n:overload", ".overload") for dec in decorators)


def agreeing(defs: list[DefFact]) -> DefFact | None:
    """One of ``defs`` standing for them all, when calling any gives the same: all ``async def``, or all
    ``def`` declaring the same result; None when they differ."""
    first = defs[0]
    if all(d.is_async == first.is_async for d in defs) and (
        first.is_async or all(d.returns_annotation == first.returns_annotation for d in defs)
    ):
        return first
    return None


def choose(defs: list[DefFact], step: str | None, bound: bool) -> DefFact | None:
    """The overload of ``defs`` (a stub's, not all agreeing) that a call with ``step`` gets, when the ones it
    may get agree; None when they do not, or none may."""
    kept = [d for d in defs if accepts(d.signature, step, bound)]
    return agreeing(kept) if kept else None
