"""AG102 coroutines created and never awaited."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from awaitguard.findings import Finding
from awaitguard.model import ModuleFacts, Site
from awaitguard.rules._base import RuleMeta, finding
from awaitguard.values import Value

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver

AG102 = RuleMeta(
    code="AG102",
    slug="coroutine-never-awaited",
    template="`{expr}` creates a coroutine that is {how}; its body never runs "
    "(RuntimeWarning: coroutine '{qualname}' was never awaited)",
    fix="{fix}",
    summary="a coroutine that is never awaited, or is used as if it were its result",
    hooks=("scan", "mypy", "smoke"),
    doc="""\
**What it does**

Finds calls of an `async def` (or of a function returning a coroutine) whose coroutine is never awaited:
dropped as a statement, assigned to a name that is never read, tested in a boolean context (also through
`:=`), formatted into a string, or returned from a sync function annotated with a plain result type. It also
finds a coroutine used as if it were its result: in arithmetic (`total += count_items()`), compared (`load()
== 3`, `x in get_ids()`), subscripted, unpacked (`a, b = load()`, `f(*ids())`, `[*ids()]`, as keyword
arguments too, also inside the arguments of calls), asked for an attribute (`get_user().name`; `send`,
`throw`, `close` and `cr_*` are the coroutine's own), passed to a function that can only want the result
(`len`, `str`, `repr`, `int`, `float`, `bool`, `print`, `json.dumps`, `sum`, `sorted`, `list`, `dict`, `set`,
`tuple`, `min`, `max`, logging calls, `"{}".format(...)` (on a literal or a `str`), `"%s" % ...`), or returned
unawaited from an `async def` that is unannotated or whose return annotation declares a result that is never
awaitable (`-> int`, `-> Response` of a class without `__await__`; there an awaitable from a declared
`Callable[..., Awaitable[T]]` counts too), and a coroutine assigned to a name (also as a branch of `x if c
else y` or an operand of `or`/`and`) that is then only used as its result, itself or through local aliases
(`view = done`): asked for attributes or items (`done = send_updates()` then `done.values()`), tested,
compared, iterated, passed to one of the functions above, or given a value with `.send(...)` (a just-started
coroutine refuses anything but `None`; awaited, `await session.send(...)`, it never completes). A coroutine
assigned to a parameter declared with plain builtin types (`thumb: str`), one bound to a name and then passed
whole to one call whose parameter declares types that never hold a coroutine (`show(text)` of `def show(text:
str)`, tornado's `self.finish(form)`; also through a method that only forwards its arguments unchanged to
`super()`'s method of its name), one stored in an attribute that the receiver's class declares with such types
(`chat.pinned = client.get_message(...)` where `Chat` declares `pinned: Message`, in its body, on `self`, or by an
annotated `__init__` parameter stored as is), and one given to a function that returns it unchanged
(`return v.decode() if isinstance(v, bytes) else v`) and then used as a value (`str_if_bytes(read()) != "OK"`),
are reported too. Calls from sync functions are covered too. Passing the coroutine to any other function (`create_task`,
`gather`, `ensure_future`, `asyncio.run`, `wait_for`, a `TaskGroup`, any parameter) counts as a use.
Iterating it (`for`, `async for`, a comprehension) is AG104's finding, so each line gets one code.

**Why is this bad?**

The body silently never runs. CPython only prints
`RuntimeWarning: coroutine 'refresh_index' was never awaited` when the object is collected,
often far from the line that created it, and a boolean test of a coroutine is always true. Used as
a value, the coroutine fails where it is used, on the first call that reaches the line:
`TypeError: unsupported operand type(s) for +: 'coroutine' and 'int'`, `TypeError: 'coroutine'
object is not subscriptable`, `AttributeError: 'coroutine' object has no attribute 'name'`, or,
worse, it compares unequal or prints `<coroutine object ...>` without an error at all.

**Example**

```python
async def refresh_index():
    return 1


async def count_items():
    return 3


async def nightly():
    refresh_index()
    return count_items() + 1
```

**Use instead**

```python
async def refresh_index():
    return 1


async def count_items():
    return 3


async def nightly():
    await refresh_index()
    return await count_items() + 1
```

**Known problems**

A coroutine stored in a container or attribute and awaited later is treated as used (an attribute is judged only
when its class declares it: every store in the class is an annotation, an annotated parameter or `None`, no
project subclass declares it again, it is no property, and the project awaits no attribute of that name); calls
through parameters and unknown decorators are not resolved, unless the project's
`[tool.awaitguard.policy]` lists a definition of the callee's name under `async`. Value uses are searched from each
statement through operators, attribute chains and the consumers above, not inside the arguments of
other calls, lambdas or comprehensions (`foo(count_items() + 1)` is not reported). A logger is
recognised by its name (`log`, `logger`, `_logger` ...) when its value cannot be resolved. A name
bound to a coroutine is judged only in an `async def` that binds it once and uses it in no other
way (awaited, passed on or rebound anywhere, it is taken as used; an alias, `view = done` on a line of its
own, is followed three levels deep when it is bound once and used the same way), and not for a call named like a
class (`Builder()`). A name passed to any other call is taken as used, whatever that callee does with it,
unless it is passed to that one call only and the parameter it binds is known: the callee resolves to one
undecorated def (a method through an instance no project subclass redefines it on, or a function), the
argument's position or keyword names an annotated parameter, and every type of the annotation is a builtin
type other than `object`, a list, set or tuple, or a class without `__await__` whose MRO is known (a class
constructor, `Request(thumb=thumb)`, is not judged; nor is a coroutine passed without a name,
`self.finish(self.render())`).
""",
)

META = (AG102,)
KINDS = frozenset({"drop"})

_HOW = {
    "statement": "dropped as a statement",
    "unused": "assigned but never used",
    "bool": "tested for truth (a coroutine is always true)",
    "fstring": "formatted into a string",
    "return": "returned from a sync function that declares a plain result",
    # used as a value: what happens instead, in the words of the runtime error
    "arithmetic": "used as an operand of `{detail}` (TypeError: unsupported operand type(s) for {detail})",
    "unary": "used as the operand of unary `{detail}` (TypeError: bad operand type for unary {detail}: 'coroutine')",
    "augmented": "used as the operand of `{detail}` (TypeError: unsupported operand type(s) for {detail})",
    "compare": "compared with `{detail}` as if it were its result (the test sees the coroutine, never the result)",
    "order": "compared with `{detail}` (TypeError: '{detail}' not supported between instances of 'coroutine' and ...)",
    "in": "searched with `{detail}` (TypeError: argument of type 'coroutine' is not iterable)",
    "subscript": "subscripted (TypeError: 'coroutine' object is not subscriptable)",
    "attribute": "asked for `.{detail}` (AttributeError: 'coroutine' object has no attribute '{detail}')",
    "unpack": "unpacked (TypeError: cannot unpack non-iterable coroutine object)",
    "format": "formatted into a string with `{detail}` (it shows `<coroutine object ...>`)",
    "spread": "unpacked with `{detail}` (TypeError: the value after {detail} must be {kind}, not coroutine)",
    "return-async": "returned from an `async def` that declares `-> {detail}` "
    "(awaiting the caller gives this coroutine, not a result)",
    "return-coroutine": "returned un-awaited from an `async def` "
    "(awaiting the caller gives this coroutine, not its result, and it is never awaited)",
    "assigned-attribute": "assigned to `{name}`, then asked for `{detail}` "
    "(AttributeError: 'coroutine' object has no attribute '{attr}')",
    "assigned-subscript": "assigned to `{name}`, then subscripted (TypeError: 'coroutine' object is not subscriptable)",
    "assigned-call": "assigned to `{name}`, then called (TypeError: 'coroutine' object is not callable)",
    "assigned-arithmetic": "assigned to `{name}`, then used as an operand of `{detail}` "
    "(TypeError: unsupported operand type(s) for {detail})",
    "assigned-compare": "assigned to `{name}`, then compared with `{detail}` (the test sees the coroutine, never the "
    "result)",
    "assigned-order": "assigned to `{name}`, then compared with `{detail}` "
    "(TypeError: '{detail}' not supported between instances of 'coroutine' and ...)",
    "assigned-bool": "assigned to `{name}`, then tested for truth (a coroutine is always true)",
    "assigned-in": "assigned to `{name}`, then searched with `in` (TypeError: argument of type 'coroutine' is not "
    "iterable)",
    "assigned-iter": "assigned to `{name}`, then iterated (TypeError: 'coroutine' object is not iterable)",
    "assigned-fstring": "assigned to `{name}`, then formatted into an f-string (it shows `<coroutine object ...>`)",
    "declared": "assigned to `{name}`, declared `{name}: {detail}` (whatever reads `{name}` gets the coroutine, "
    "not the `{detail}` it declares)",
    "stored": "stored in `{name}`, declared `{attr}: {detail}` (whatever reads it gets the coroutine, not the "
    "`{detail}` it declares)",
    "assigned-format": "assigned to `{name}`, then formatted with `.format()` (it shows `<coroutine object ...>`)",
    "assigned-send": "assigned to `{name}`, then given a value with `{name}.send(...)` as if it were its result "
    "(TypeError: can't send non-None value to a just-started coroutine)",
    "assigned-await-send": "assigned to `{name}`, then awaited as `await {name}.send(...)` as if it were its result "
    "(TypeError: can't send non-None value to a just-started coroutine; sent `None`, it only runs to its first "
    "suspension)",
}
# the use after ``name`` in an "assigned" target (``resultuse.result_use``): its context, and its detail
_ASSIGNED_USES = {
    " if": "assigned-bool",
    " in": "assigned-in",
    " for": "assigned-iter",
    " {": "assigned-fstring",
}


def _assigned_use(target: str) -> tuple[str, str, str]:
    """``"c +"`` -> ("c", "assigned-arithmetic", "+"), ``"c("`` -> ("c", "assigned-call", "")."""
    if target.endswith("("):
        return target[:-1], "assigned-call", ""
    name, _, use = target.partition(" ")
    context = _ASSIGNED_USES.get(f" {use}")
    if context is not None:
        return name, context, ""
    if use in ("==", "!="):
        return name, "assigned-compare", use
    if use in _ORDER:
        return name, "assigned-order", use
    return name, "assigned-arithmetic", use


# what a consumer does with a coroutine (groups of ``refs.CONSUMERS``, and logging calls)
_CONSUMED = {
    "len": "(TypeError: object of type 'coroutine' has no len())",
    "number": "(TypeError: {detail}() argument must be ... a real number, not 'coroutine')",
    "bool": "(always true for a coroutine)",
    "text": "(it shows `<coroutine object ...>`, not the result)",
    "log": "(it logs `<coroutine object ...>`, not the result)",
    "json": "(TypeError: Object of type coroutine is not JSON serializable)",
    "iterable": "(TypeError: 'coroutine' object is not iterable)",
}
_FIX = {
    "statement": "write `await {expr}`, or keep the task returned by `asyncio.create_task(...)`",
    "unused": "await the value, or pass it to `asyncio.create_task(...)` and keep the task",
    "bool": "write `await {expr}` inside the test",
    "fstring": "write `await {expr}` inside the f-string",
    "return": "make the function `async def` and `return await {expr}`, or annotate it as returning a coroutine",
    "arithmetic": "write `await {expr}` (`await` binds tighter than `{detail}`)",
    "unary": "write `{detail}(await {expr})`",
    "augmented": "write `{detail} await {expr}`",
    "compare": "compare `await {expr}`",
    "order": "compare `await {expr}`",
    "in": "write `{detail} await {expr}`",
    "subscript": "write `(await {expr})[...]`",
    "attribute": "write `(await {expr}).{detail}` (`await {expr}.{detail}` would await the attribute)",
    "unpack": "unpack `await {expr}`",
    "consumer": "write `{detail}(await {expr})`",
    "log": "pass `await {expr}` to `{detail}()`",
    "format": "format `await {expr}`",
    "spread": "unpack `{detail}(await {expr})`",
    "return-async": "write `return await {expr}`",
    "return-coroutine": "write `return await {expr}`",
    "declared": "write `await {expr}` where its value is assigned to `{name}`",
    "stored": "write `{name} = await {expr}`",
    "assigned-attribute": "write `{name} = await {expr}`",
    "assigned-subscript": "write `{name} = await {expr}`",
    **{
        context: "write `{name} = await {expr}`"
        for context in (
            "assigned-call",
            "assigned-arithmetic",
            "assigned-compare",
            "assigned-order",
            "assigned-bool",
            "assigned-in",
            "assigned-iter",
            "assigned-fstring",
            "assigned-format",
            "assigned-consumer",
            "assigned-passed",
            "assigned-send",
            "assigned-await-send",
        )
    },
}
_ORDER = frozenset({"<", "<=", ">", ">="})
# value uses fail at once (TypeError/AttributeError): in a `pytest.raises(...)` block that failure is
# what the test checks, or it fails the test by itself; a dropped coroutine fails nothing, so it is reported
_STATEMENTS = frozenset({"statement", "unused", "bool", "fstring", "return"})


def never_awaited_args(*, qualname: str) -> dict[str, str]:
    """AG102's arguments at run time (the smoke hook), where only that the coroutine of ``qualname`` was never
    awaited is known: the fix is a dropped statement's."""
    expr = f"{qualname.rsplit('.', 1)[-1]}(...)"
    how, fix = "never awaited", _FIX["statement"].format(expr=expr)
    return {"expr": expr, "how": how, "qualname": qualname, "callee": qualname, "fix": fix}


def unittest_method_args(*, qualname: str) -> dict[str, str]:
    """AG102's arguments at run time for an `async def` test method that a sync `unittest.TestCase` called:
    the test's own body never ran, and no `await` in the test can fix that."""
    short = qualname.rsplit(".", 1)[-1]
    how = "never awaited: `unittest.TestCase` calls test methods without awaiting them"
    fix = (
        f"derive `{qualname.rsplit('.', 1)[0]}` from `unittest.IsolatedAsyncioTestCase` (it awaits `async def` "
        f"tests), or make `{short}` a plain `def`"
    )
    return {"expr": f"{short}(...)", "how": how, "qualname": qualname, "callee": qualname, "fix": fix}


def _not_none(value: Value) -> bool:
    """A value that cannot be `None`: a literal or display, or an instance made by calling a class (a function's
    result may be `None` on a path its merged value hides)."""
    origin = value.origin
    if value.kind == "builtin":
        return origin is None or origin.kind != "function"
    return value.kind == "instance" and origin is not None and origin.kind == "class"


def _returned_unchanged(resolver: Resolver, facts: ModuleFacts, site: Site) -> str:
    """The name of the plain function a through site's call is given to, when that function returns its first
    parameter unchanged unless it is an instance of a builtin type (a coroutine never is); else ""."""
    callee = resolver.value(facts, site.scope, site.target_ref)
    defn = callee.defn
    if callee.kind != "function" or defn is None or "." in defn.qualname or not defn.params:
        return ""
    first = defn.params[0]
    # one `return`, the conditional expression: its two branches, then the marker (``statements.passed_through``)
    returns = defn.returns
    if defn.is_async or defn.is_generator or defn.decorators or len(returns) != 3:
        return ""
    return defn.qualname if returns[2] == (f"p:{first}",) and (f"n:{first}",) in returns[:2] else ""


def _formats_text(resolver: Resolver, facts: ModuleFacts, site: Site) -> bool:
    """Whether the `.format` a value is given to (``site.target_ref``: the method, none on a string literal) is
    `str.format`: its receiver is a literal (`s = "{}"`, the only literals with a `format`) or a declared `str`
    (`template: str`); any other object's `format` may want the coroutine itself."""
    if not site.target_ref:
        return True
    receiver = resolver.value(facts, site.scope, site.target_ref[:-1])
    if receiver.kind == "plain":
        return receiver.name != "None"
    return receiver.kind == "builtin" and receiver.name == "str"


# what a library def does, at run time, with an argument its parameter does not declare (the def's qualified name)
_REFUSED = {
    "tornado.web.RequestHandler.write": "TypeError: write() only accepts bytes, unicode, and dict objects",
    "tornado.web.RequestHandler.finish": "TypeError: write() only accepts bytes, unicode, and dict objects",
}


def _passed_how(callee: str, name: str, param: str, declared: str, owner: str, forwarded: bool) -> str:
    """How a coroutine bound to ``name`` is passed to the call of ``callee``, binding ``param`` of ``owner``."""
    into = f"passed to `{callee}()`"
    if forwarded:
        into += f" and on to `{'.'.join(owner.rsplit('.', 2)[-2:])}()`"
    what = _REFUSED.get(owner) or f"it gets the coroutine, not the `{declared}` it declares"
    return f"assigned to `{name}`, then {into} as `{param}`, declared `{param}: {declared}` ({what})"


def check(resolver: Resolver, facts: ModuleFacts, site: Site) -> Iterator[Finding]:
    if site.guarded or (site.expects_error and site.context not in _STATEMENTS):
        return
    context, detail = site.context, site.target
    name = attr = through = ""
    if context.startswith("through-"):  # `str_if_bytes(read()) != "OK"`: the use is of what the function returns
        through = _returned_unchanged(resolver, facts, site)
        if not through:
            return
        context = context[8:]
    bound = slot = ""  # "view.values <- done": bound to `done`, then `view = done`
    if context == "assigned":  # `done = fetch()` ... `done.values()`: target is "done.values", "done[", "done +"
        detail, _, bound = detail.partition(" <- ")
        name, _, attr = detail.partition(".")
        if " -> " in detail:  # "done -> print": passed to a consumer
            name, _, detail = detail.partition(" -> ")
            if detail.endswith(")"):  # "form -> self.finish(0)": passed to a call, whose parameter decides
                detail, _, slot = detail[:-1].partition("(")
                context = "assigned-passed"
            else:
                context, attr = ("assigned-format", "") if detail == ".format" else ("assigned-consumer", "")
        elif attr == "send(":
            context = "assigned-send"
            if name.startswith("await "):  # `await name.send(...)`: whatever is sent, the body never completes
                name, context = name[6:], "assigned-await-send"
        elif attr:
            context = "assigned-attribute"
        elif detail.endswith("["):
            name, context = detail.rstrip("["), "assigned-subscript"
        else:
            name, context, detail = _assigned_use(detail)
    elif context == "declared":  # "thumb: str": a parameter declared plain, bound to the call's value
        name, _, detail = detail.partition(": ")
    elif context == "stored":  # "chat.pinned": stored in an attribute, which its class's declaration decides
        name, attr = detail, detail.rsplit(".", 1)[-1]
    elif context == "arithmetic" and detail.startswith("unary "):
        context, detail = "unary", detail[6:]
    elif context == "compare" and detail in _ORDER:
        context = "order"
    elif context == "return-async" and not detail:  # an unannotated `async def`
        context = "return-coroutine"
    elif context == "return-declared":  # `async def ... -> Response`: reported when that is never awaitable
        if not resolver.declares_plain_result(facts, site.scope):
            return
        context = "return-async"
    if context in ("format", "assigned-format") and not _formats_text(resolver, facts, site):
        return  # `handle.format(...)`: an object's own method, which may want the coroutine
    if context == "assigned-consumer":
        consumed = resolver.consumer(facts, site._replace(target=detail))
    else:
        consumed = resolver.consumer(facts, site) if context == "consumer" else ""
    if context in ("consumer", "assigned-consumer") and not consumed:
        return  # passed to a function that may want the coroutine itself
    if context == "assigned-send" and not _not_none(resolver.value(facts, site.scope, site.target_ref)):
        return  # `c.send(None)` starts the coroutine: the value sent must be something else
    value = resolver.value(facts, site.scope, site.ref)
    if context == "stored":  # the value first: most stores are of a known value that is no coroutine
        stored = (
            None
            if value.kind not in ("unknown", "coroutine")
            else resolver.declared_attribute(facts.module, site.scope, site.target_ref, attr)
        )
        if stored is None:
            return
        detail, attr = stored[0], f"{stored[1]}.{attr}"
    # `self._client.get_me()`, the client an unannotated parameter: from its callers (not for a name passed on:
    # such sites are many, and the search reads files)
    if value.kind == "unknown" and context != "assigned-passed":
        value = resolver.through_callers().value(facts, site.scope, site.ref)
    # returned where a result is declared: an awaitable a declared `Callable[..., Awaitable[T]]` gives too
    declared_awaitable = context == "return-async" and detail and value.kind == "awaitable" and value.origin is None
    if not (value.is_coroutine() or declared_awaitable):
        return
    passed = resolver.passed_to(facts.module, site.scope, site.target_ref, slot) if slot else None
    if context == "assigned-passed" and passed is None:
        return  # the parameter it binds is not known, or may want the coroutine itself
    if context == "return" and resolver.overrides_base(facts, site.scope):
        return  # `def get(self) -> None: return super().get()`: the framework calling it may await the result
    if not resolver.scope_is_async(facts, site.scope) and resolver.rewritten_to_sync(value):
        return  # a sync-or-async API (`client.stop()` in sync code runs to completion)
    if passed is not None:
        how = _passed_how(detail, name, *passed)
    elif consumed:
        how = f"passed to `{detail}()` " + _CONSUMED[consumed].format(detail=detail)
        if name:
            how = f"assigned to `{name}`, then {how}"
    else:
        kind = "a mapping" if detail == "**" else "an iterable"
        how = _HOW[context].format(detail=detail, name=name, attr=attr, kind=kind)
    if bound:
        how = how.replace(f"assigned to `{name}`,", f"assigned to `{bound}`, then aliased as `{name}`,", 1)
    fixed = bound or name
    fix = _FIX["log" if consumed == "log" and not name else context].format(expr=site.shown, detail=detail, name=fixed)
    if through:
        how = f"returned unchanged by `{through}()`, then {how}"
        fix = f"pass `await {site.shown}` to `{through}()`"
    if context != "return" and not resolver.scope_is_async(facts, site.scope):  # `await` there: a SyntaxError
        where = f"make `{site.scope}` an `async def`" if site.scope else "move this into an `async def`"
        fix = f"{where}, then {fix}"
    declared = f"`{value.name.rsplit('.', 1)[-1]}` is declared `async` here (`{value.name}`)" if value.name else ""
    yield finding(resolver, facts, site, AG102, value, how=how, qualname=value.qualname, fix=fix, declared=declared)


# -- AG102 worded from what mypy says (``mypy_plugin.translate``, ``mypy_plugin.stored``) -----------------
TypedUse = Literal["statement", "bool", "result"]
_TYPED_HOW: dict[TypedUse, str] = {
    "statement": "dropped as a statement",
    "bool": "tested in a boolean context (always true)",
    "result": "used as if it were its result",
}
_TYPED_FIX: dict[TypedUse, str] = {
    "statement": "write `{awaited}`, or keep the task returned by `asyncio.create_task(...)`",
    "bool": "test `{awaited}` instead",
    "result": "write `{awaited}`",
}


def typed_args(
    *, use: TypedUse, expr: str, qualname: str, plain_def: str = "", trailer: bool = False
) -> dict[str, str]:
    """AG102's arguments for the coroutine ``expr`` (of the function ``qualname``) that mypy found ``use``-d.
    ``plain_def``: the plain ``def`` holding the line, where ``await`` is a syntax error; ``trailer``: an
    attribute, subscript or call follows ``expr``, so the ``await`` needs brackets."""
    if plain_def:
        fix = (
            f"`await` needs an `async def`: make `{plain_def}` an `async def` and await the call (and await "
            f"`{plain_def}` where it is called), or run the coroutine with `asyncio.run(...)` where no event "
            "loop is running"
        )
    else:
        fix = _TYPED_FIX[use].format(awaited=f"(await {expr})" if trailer else f"await {expr}")
    return {"expr": expr, "how": _TYPED_HOW[use], "qualname": qualname, "fix": fix}


def used_as_result(args: Mapping[str, str]) -> bool:
    """Whether ``typed_args`` gave ``args`` for a coroutine used as if it were its result."""
    return args.get("how") == _TYPED_HOW["result"]


def stored_args(*, name: str, call: str, qualname: str, plain_def: str = "") -> dict[str, str]:
    """AG102's arguments for the coroutine ``call`` creates, assigned to ``name`` and then used as its result:
    one finding at the call. ``plain_def``: the plain ``def`` holding it."""
    fix = f"write `{name} = await {call}`"
    if plain_def:
        fix = f"make `{plain_def}` an `async def`, then {fix}"
    return {"expr": call, "how": f"assigned to `{name}`, then {_TYPED_HOW['result']}", "qualname": qualname, "fix": fix}


def stored_use_note(*, name: str) -> str:
    """The note at a use of ``name``, a stored coroutine, as its result."""
    return f"`{name}` is used as its result here"


def stored_fix(*, name: str) -> str:
    """AG102's fix for a stored coroutine ``name`` whose creation is not found."""
    return f"await the coroutine once, where `{name}` is created (a coroutine can be awaited only once)"
