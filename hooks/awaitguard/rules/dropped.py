"""AG102 coroutines created and never awaited."""

from __future__ import annotations

from collections.abc import Iterator

from awaitguard.findings import Finding
from awaitguard.model import ModuleFacts, Site
from awaitguard.resolve import Resolver
from awaitguard.rules._base import RuleMeta, finding

AG102 = RuleMeta(
    code="AG102",
    slug="coroutine-never-awaited",
    template="`{expr}` creates a coroutine that is {how}; its body never runs "
    "(RuntimeWarning: coroutine '{qualname}' was never awaited)",
    fix="{fix}",
    doc="""\
**What it does**

Finds calls of an `async def` (or of a function returning a coroutine) whose coroutine is never
awaited: dropped as a statement, assigned to a name that is never read, tested in a boolean
context, formatted into an f-string, or returned from a sync function annotated with a plain
result type. Calls from sync functions are covered too. Passing the coroutine anywhere
(`create_task`, `gather`, `ensure_future`, `asyncio.run`, `wait_for`, a `TaskGroup`, any
parameter) counts as a use.

**Why is this bad?**

Nothing fails: the body silently never runs. CPython only prints
`RuntimeWarning: coroutine 'refresh_index' was never awaited` when the object is collected,
often far from the line that created it, and a boolean test of a coroutine is always true.

**Example**

```python
async def refresh_index():
    return 1


async def nightly():
    refresh_index()
```

**Use instead**

```python
async def refresh_index():
    return 1


async def nightly():
    await refresh_index()
```

**Known problems**

A coroutine stored in a container or attribute and awaited later is treated as used; calls
through parameters and unknown decorators are not resolved.
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
}
_FIX = {
    "statement": "write `await {expr}`, or keep the task returned by `asyncio.create_task(...)`",
    "unused": "await the value, or pass it to `asyncio.create_task(...)` and keep the task",
    "bool": "write `await {expr}` inside the test",
    "fstring": "write `await {expr}` inside the f-string",
    "return": "make the function `async def` and `return await {expr}`, or annotate it as returning a coroutine",
}


def check(resolver: Resolver, facts: ModuleFacts, site: Site) -> Iterator[Finding]:
    if site.guarded:
        return
    value = resolver.value(facts, site.scope, site.ref)
    if not value.is_coroutine():
        return
    yield finding(
        resolver,
        facts,
        site,
        AG102,
        value,
        how=_HOW[site.context],
        qualname=value.qualname,
        fix=_FIX[site.context].format(expr=site.shown),
    )
