"""AG110 a plain `def` that returns None, overriding an `async def` of a base class."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from awaitguard.findings import Finding, Related
from awaitguard.model import ModuleFacts, Site
from awaitguard.rules._base import RuleMeta, definition_note

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver

AG110 = RuleMeta(
    code="AG110",
    slug="sync-override-of-async",
    template="`{name}` is a plain `def` returning None that overrides `async def {base}`: code awaiting "
    "`{short}()` through the base class raises TypeError (\"can't be used in 'await' expression\")",
    fix="make it `async def {short}` as the method it overrides is, and `await` it where it is called directly",
    summary="a plain `def` returning None that overrides an `async def` of a base class",
    hooks=("scan",),
    doc="""\
**What it does**

Finds a method written as a plain `def`, whose body returns `None` on every path, that overrides
an `async def` that a base class only declares: abstract, or a stub (`...`, `pass`, a docstring or
`raise NotImplementedError`). The base class may be the project's (whose code outside the tests then
awaits the name somewhere), an installed library's or the standard library's
(`IsolatedAsyncioTestCase.asyncSetUp`).

**Why is this bad?**

Whatever calls the method through the base class's contract awaits it: a framework's
dispatcher, the base class's own template method, or code typed with the base class. With the
subclass's object, that line raises the moment it runs:
`TypeError: object NoneType can't be used in 'await' expression` (CPython 3.13 and older),
`TypeError: 'NoneType' object can't be awaited` (3.14+). Type checkers report it as an
incompatible override only when the base is annotated, and tests often drive the subclass
directly, without awaiting.

**Example**

```python
class Exchange:
    async def publish(self, message):
        raise NotImplementedError


class MemoryExchange(Exchange):
    def publish(self, message):
        print(message)


async def send(exchange: Exchange):
    await exchange.publish("ping")
```

**Use instead**

```python
class Exchange:
    async def publish(self, message):
        raise NotImplementedError


class MemoryExchange(Exchange):
    async def publish(self, message):
        print(message)


async def send(exchange: Exchange):
    await exchange.publish("ping")
```

**Known problems**

Only overrides that return `None` are reported: one returning a value may return an awaitable (a
`Future`, another coroutine), and is left to the type checkers. A base method with a body of its
own is not a declaration: a framework may call it, and its overrides, through a dispatcher that
awaits only an awaitable result (textual's message handlers), so its sync overrides are not
reported, nor are those of a project declaration whose name the project's code never awaits.
Decorated overrides, stubs (`...`, `pass`, a docstring or `raise NotImplementedError` only),
overrides that only raise, dunder methods (AG103 and AG104 judge the protocols where they are
used), and overrides whose base the scan cannot follow (an unknown base class anywhere in the
class's MRO, a class defined twice) are not reported. A full scan reads only files that mention
`async`/`await` or import an async name, so an override in a file without either is found when
that file changes.
""",
)

META = (AG110,)
KINDS = frozenset({"override"})


def check(resolver: Resolver, facts: ModuleFacts, site: Site) -> Iterator[Finding]:
    name = site.ref[0][1:]
    base = resolver.overridden(facts, site.scope, name)
    if base is None or base.kind != "function" or base.defn is None:
        return
    defn = base.defn
    if not defn.is_async or defn.is_generator or any(not _abstract(d) for d in defn.decorators):
        return
    # a base that only declares the method (abstract, or a stub's `...`) states that callers await it; a
    # concrete one may be a default that a dispatcher calls either way (textual's `_on_click` handlers:
    # `await` only when the result is awaitable)
    if not (defn.is_abstract or defn.is_stub):
        return
    # the project's own declaration: its production code must await the name somewhere (a library's own
    # code, not read here, awaits what it declares async)
    if not base.path.startswith("<") and not resolver.awaited_somewhere(name):
        return
    related = []
    at = base.definition()
    if at is not None:
        related.append(Related(at.path, at.line, at.col, definition_note(at.short, "async def")))
    args = {"name": site.scope, "base": defn.qualname, "short": name}
    yield Finding.make(facts.path, site.line, site.col, AG110.code, args, related)


def _abstract(decorator: tuple[str, ...]) -> bool:
    """`@abstractmethod` / `@abc.abstractmethod`: the base only declares the method; the override is its body."""
    return bool(decorator) and decorator[-1] in ("n:abstractmethod", ".abstractmethod")
