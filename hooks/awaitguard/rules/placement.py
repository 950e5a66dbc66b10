"""Where the compiler accepts a construct: AG106 an async construct (`await`, `async for`, `async with`, an
async comprehension) where no coroutine runs it, AG107 generator syntax an `async def` cannot hold (`yield
from`, `return` with a value in an async generator). Each is a SyntaxError when the module is compiled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from awaitguard.findings import Finding
from awaitguard.model import ModuleFacts, Site
from awaitguard.rules._base import RuleMeta

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver

AG106 = RuleMeta(
    code="AG106",
    slug="await-outside-async",
    template='{what} is inside {where}; Python rejects this with SyntaxError ("{error}")',
    fix="{fix}",
    summary="`await`, `async for`, `async with` or an async comprehension outside an `async def`",
    hooks=("scan", "mypy"),
    doc="""\
**What it does**

Finds the async constructs the compiler accepts only in an `async def`, where no coroutine runs
them: `await`, `async for`, `async with` and async list, set and dict comprehensions
(`[row async for row in rows]`, or one that awaits) in a plain `def`, a `lambda`, a class body or
module-level code. They are typically left behind when an `async def` was turned into a `def` (or
the other way round, half-way).

An `await` or `async for` inside a generator expression is not one of them: it makes an async
generator expression, legal in any function (only its first iterable runs where it is written).

**Why is this bad?**

The module no longer imports: the compiler raises `SyntaxError: 'await' outside async function`
(`'await' outside function` at module level or in a class body), `'async for' outside async
function`, `'async with' outside async function` or `asynchronous comprehension outside of an
asynchronous function` when the file is compiled, at start-up or on the first import of the
module, taking every route in it down. `ast.parse` accepts all of them, so a tool that only parses
the file does not notice.

**Example**

```python
async def fetch():
    return 1


def handler():
    return await fetch()
```

**Use instead**

```python
async def fetch():
    return 1


async def handler():
    return await fetch()
```

**Known problems**

A top-level `await` (or `async for`/`async with`) is legal where an event loop runs the code and
accepts it (IPython and Jupyter, `python -m asyncio`, Pyodide). Such a script is reported all the
same: silence it with `# awaitguard: ignore[AG106]` on the line, or `exclude` the file in the
configuration. An async comprehension nested in a generator expression, or in an `async def`'s
comprehension that is not async itself, is left alone: CPython 3.10 rejects it, 3.11 and later
accept it. Decorators are searched only in files that mention `patch` or `setattr`.
The mypy hook reports what mypy reports: every form, `async with` and `async for` only in
functions mypy checks (it turns on `check_untyped_defs`), each where and as the scan words it.
""",
)

AG107 = RuleMeta(
    code="AG107",
    slug="generator-syntax-in-async",
    template='{what} is inside {where}; Python rejects this with SyntaxError ("{error}")',
    fix="{fix}",
    summary="`yield from` in an `async def`, or `return` with a value in an async generator",
    hooks=("scan",),
    doc="""\
**What it does**

Finds the generator syntax an `async def` cannot hold: `yield from` anywhere in its body, and
`return` with a value (even `return None`) in an async generator, an `async def` that yields.
Both typically come from turning a generator into an async one, or a coroutine into an async
generator, half-way.

**Why is this bad?**

The module no longer imports: the compiler raises `SyntaxError: 'yield from' inside async
function` or `SyntaxError: 'return' with value in async generator` when the file is compiled, at
start-up or on the first import of the module. `ast.parse` accepts both.

**Example**

```python
async def pages(client):
    yield await client.first()
    return None
```

**Use instead**

```python
async def pages(client):
    yield await client.first()
    return
```

**Known problems**

`yield` and `yield from` inside a comprehension or generator expression are SyntaxErrors of their
own, not reported here. Function bodies are searched only where a line mentions `yield`.
""",
)

META = (AG106, AG107)
KINDS = frozenset({"await-outside", "async-outside", "generator-syntax"})

_ERROR_AWAIT = "'await' outside async function"
_RETURN_ERROR = "'return' with value in async generator"
_ERROR = {
    "async for": "'async for' outside async function",
    "async with": "'async with' outside async function",
    "comprehension": "asynchronous comprehension outside of an asynchronous function",
}
_WHAT = {
    "async for": "`async for ... in {expr}`",
    "async with": "`async with {expr}`",
    "comprehension": "the async comprehension `{expr}`",
}
_LAMBDA_FIX = "a `lambda` cannot be async: define a nested `async def` instead"


def check(resolver: Resolver, facts: ModuleFacts, site: Site) -> Iterator[Finding]:
    """The walk records a site only where the construct is a SyntaxError: each one is a finding (no run-time
    guard or `pytest.raises` makes it compile)."""
    if site.kind == "generator-syntax":
        yield Finding.make(facts.path, site.line, site.col, AG107.code, _generator_args(site))
    else:
        yield Finding.make(facts.path, site.line, site.col, AG106.code, placement_args(site))


def _generator_args(site: Site) -> dict[str, str]:
    """AG107's named arguments for a "generator-syntax" site (``site.target``: "yield from" or "return")."""
    expr, name = site.shown, site.scope.rsplit(".", 1)[-1]
    if site.target == "yield from":
        what, where, error = f"`yield from {expr}`", f"`async def {site.scope}`", "'yield from' inside async function"
        fix = f"write `for item in {expr}: yield item` (`async for` over an async iterable)"
    else:
        what, where, error = f"`return {expr}`", f"the async generator `{site.scope}`", _RETURN_ERROR
        fix = f"write a bare `return`: `{name}` is an async generator, which cannot return a value"
    return {"expr": expr, "what": what, "where": where, "error": error, "fix": fix}


def placement_args(site: Site) -> dict[str, str]:
    """AG106's named arguments for an "await-outside" or "async-outside" site (``site.context`` is where
    it is: "def", "lambda", "module" or "class:<qualname>"; ``site.target`` the construct, "" for `await`)."""
    place, construct, expr = site.context, site.target, site.shown
    if construct:
        what, error = _WHAT[construct].format(expr=expr), _ERROR[construct]
    else:
        what = f"`await {expr}`"
        error = "'await' outside function" if place == "module" or place.startswith("class:") else _ERROR_AWAIT
    if place == "lambda":
        where, fix = "a `lambda`", _LAMBDA_FIX
    elif place == "def" and site.scope:
        where, fix = f"plain `def {site.scope}`", f"make `{site.scope}` an `async def`"
    elif place.startswith("class:"):
        where, fix = f"the body of class `{place[6:]}`", "move it into an `async def`"
    else:
        where, fix = "module-level code", "move it into an `async def`"
    return {"expr": expr, "what": what, "where": where, "error": error, "fix": fix}
