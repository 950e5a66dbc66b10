"""AG111: a value that is never awaitable handed to an asyncio function that needs an awaitable (judged with
AG101's words for the value: ``rules.awaits`` hands them in)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from awaitguard.findings import Finding
from awaitguard.model import ModuleFacts, Site, ref_text
from awaitguard.rules._base import RuleMeta, finding

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver
    from awaitguard.values import Value

AG111 = RuleMeta(
    code="AG111",
    slug="awaitable-expected",
    template="`{api}(...)` is given {what}; at runtime this raises {error}",
    fix="hand `{api}` a coroutine (the call of an `async def`) or another awaitable",
    summary="a value that is never awaitable, such as a plain `def`'s result, handed to `asyncio.create_task`, "
    "`gather` and the like",
    hooks=("scan",),
    doc="""\
**What it does**

Finds a value that is never awaitable (the result of a plain `def` whose body returns no awaitable, an
instance of a class without `__await__`, a literal) given to an asyncio function that needs a coroutine or
an awaitable: `asyncio.create_task`, `ensure_future`, `gather` (each positional argument), `shield`,
`wait_for`, `run` and `run_coroutine_threadsafe`, called through the `asyncio` module; and an event loop's
`create_task` and `run_until_complete` or a task group's `create_task`, where the receiver is known to be
one (`asyncio.get_running_loop()`, a parameter declared `asyncio.AbstractEventLoop`, `async with
asyncio.TaskGroup() as tg`). A project's own spawner counts too (aiokafka's `create_task(coro)`,
home-assistant's `hass.async_create_task(target)`): a def named `create_task` or `*_task` whose first parameter
(after the instance) is declared `Coroutine[...]` or `Awaitable[...]` and whose body hands it on, never rebound,
to one of asyncio's calls above; its decorators, if any, must return the def itself.

**Why is this bad?**

The call raises the moment it runs: `TypeError: a coroutine was expected, got None` from `create_task`
(a loop's too; a task group's inside its `ExceptionGroup`),
`TypeError: An asyncio.Future, a coroutine or an awaitable is required` from `gather`, `ensure_future`,
`shield`, `run_until_complete` and `wait_for` (3.11 and older; 3.12+ fails in `wait_for`'s own `await`), `ValueError: a
coroutine was expected` from `asyncio.run`. It is what an `await` of the same value would have been had the
code awaited it (AG101): a function made a plain `def` breaks `create_task(f())` and `gather(f(), g())` too.

**Example**

```python
import asyncio


def refresh():
    return {"fresh": True}


async def handler():
    asyncio.create_task(refresh())
```

**Use instead**

```python
import asyncio


async def refresh():
    return {"fresh": True}


async def handler():
    asyncio.create_task(refresh())
```

**Known problems**

Only calls written as arguments are judged (`gather(*calls)`, a name bound to a call first, are not), and only
the asyncio functions above reached through the module (`asyncio.create_task`, `from asyncio import
gather`), the loop and task group methods above on a receiver the scanner resolves, and the project's
own spawners as above; other libraries' (anyio's `start_soon`) and spawners named otherwise are not
judged. A future handed to `create_task` (which wants a coroutine) is awaitable, and not reported. A value
the scanner cannot resolve is never reported, as for AG101.
""",
)


_REQUIRED = 'TypeError ("An asyncio.Future, a coroutine or an awaitable is required")'
# asyncio's functions that need an awaitable argument, and what they raise given none (CPython 3.10-3.13)
_ERRORS: dict[str, str] = {
    "asyncio.create_task": 'TypeError ("a coroutine was expected")',
    "asyncio.ensure_future": _REQUIRED,
    "asyncio.gather": _REQUIRED,
    "asyncio.shield": _REQUIRED,
    "asyncio.wait_for": "TypeError (once awaited)",
    "asyncio.run": 'ValueError ("a coroutine was expected")',
    "asyncio.run_coroutine_threadsafe": 'TypeError ("A coroutine object is required")',
    # an event loop's methods, as typeshed declares them (`get_running_loop()`, a parameter declared so)
    "asyncio.AbstractEventLoop.create_task": 'TypeError ("a coroutine was expected")',
    "asyncio.AbstractEventLoop.run_until_complete": _REQUIRED,
    "asyncio.TaskGroup.create_task": 'TypeError ("a coroutine was expected"), in the task group\'s ExceptionGroup',
}


def check(
    resolver: Resolver, facts: ModuleFacts, site: Site, await_words: Callable[[Value], dict[str, str] | None]
) -> Iterator[Finding]:
    """An "await-arg" site: the call handed to a function of asyncio's that needs an awaitable."""
    if site.guarded or site.expects_error:
        return
    api_value = resolver.value(facts, site.scope, site.target_ref)
    name = _asyncio_name(resolver, api_value)
    error = _ERRORS.get(name)
    if error is None:  # a project's own spawner handing its declared coroutine on to asyncio (``Params.handed_on``)
        ref = site.target_ref
        owner = resolver.value(facts, site.scope, ref[:-1]) if len(ref) > 1 and ref[-1][:1] == "." else None
        handed = resolver.handed_on(
            api_value,
            owner,
            lambda inner: inner_name if (inner_name := _asyncio_name(resolver, inner)) in _ERRORS else "",
        )
        if handed is None:
            return
        param, inner, written = handed
        assert api_value.defn is not None
        short = api_value.defn.qualname.rsplit(".", 1)[-1]
        error = f"{_ERRORS[inner]} in `{written}`, to which `{short}` hands its `{param}`"
    value = resolver.value(facts, site.scope, site.ref)
    words = await_words(value)
    if words is None or (value.overridable and resolver.defined_async(value.overridable)):
        return  # as for AG101: `self.send(...)` where some class defines `async def send` may be a subclass's
    # a function of asyncio's by its name; a method or a project's spawner as written (`loop.create_task`)
    api = name if name.count(".") == 1 else ref_text(site.target_ref)
    yield finding(resolver, facts, site, AG111, value, api=api, what=words["what"], error=error)


def _asyncio_name(resolver: Resolver, api: Value) -> str:
    """`asyncio.<name>` for a function of asyncio's: a well-known name, or a def of typeshed's `asyncio` package
    (`asyncio.runners.run`); else ""."""
    if api.kind == "external":
        return api.name
    if api.kind == "function" and api.defn is not None and api.module.split(".", 1)[0] == "asyncio":
        if api.module not in resolver.index.modules:  # not a project's own `asyncio` package
            return f"asyncio.{api.defn.qualname}"
    return ""
