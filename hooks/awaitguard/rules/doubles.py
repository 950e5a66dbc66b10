"""AG201/AG202 test doubles whose awaitability differs from the target they replace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from awaitguard.findings import Finding
from awaitguard.model import ModuleFacts, Site
from awaitguard.patching import Mismatch, judge
from awaitguard.rules._base import RuleMeta, finding

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver

AG201 = RuleMeta(
    code="AG201",
    slug="awaitable-double-over-sync",
    template=(
        "`{double}` replaces sync `{target}`; the double's call returns an awaitable where the target's "
        "does not, so an `await` of it passes in the test and raises TypeError in production"
    ),
    fix="patch with `autospec=True`, or use `Mock(return_value=...)`",
    summary="an awaitable test double (`AsyncMock`) patched over a sync target",
    hooks=("scan", "mypy", "smoke"),
    doc="""\
**What it does**

Finds a test double that is awaitable (`AsyncMock`, `new_callable=AsyncMock`, an `async def`
fake) patched over a sync target, through `unittest.mock.patch` (decorator, context manager,
`start()`), `patch.object`, `patch.multiple`, pytest-mock's `mocker.patch` and
`monkeypatch.setattr`, or assigned over it in test code: `client.send = AsyncMock()` (or
`Client.send = ...`, `module.send = ...`) replaces the attribute as `patch.object` does, when the
assigned value is a call of a mock class (`Mock`, `MagicMock`, `AsyncMock`, `NonCallableMock`,
`unittest.mock`'s or pytest-mock's `mocker.` twins). The patched name is resolved through the
module where it is looked up.

**Why is this bad?**

The test passes because the double makes `await get_manager()` legal; production raises
`TypeError: object Manager can't be used in 'await' expression` on the first call. This is how
a sync/async flip ships with a green test suite.

**Example**

```python
from unittest.mock import AsyncMock, patch


def get_manager():
    return {"mode": "prod"}


def test_handler():
    with patch("example.get_manager", new_callable=AsyncMock):
        pass
```

**Use instead**

```python
from unittest.mock import patch


def get_manager():
    return {"mode": "prod"}


def test_handler():
    with patch("example.get_manager", autospec=True):
        pass
```

**Known problems**

Only a target that resolves to a function or method (the project's, or an installed library's)
is checked. A patched class or attribute, a target the scanner cannot resolve, and a double it
cannot classify (a double that only raises, a `Mock(side_effect=...)`: the scanner does not follow
`side_effect`, the mypy hook follows it through types, the smoke run on the live mock) are silent.
An `async def` target (one decorated into a sync callable) is left alone. A patch with
`autospec=True` is never reported, nor is an assigned mock given a `spec`, `spec_set` or `wraps`
(it mirrors or calls the real attribute) or one whose call the test configures in the same
function (`client.send.return_value = ...`). Only the scan sees the assignment form, in test code
(test files, `conftest.py`, modules under a `tests` folder): the mypy hook and the smoke run see
the patching calls. The three hooks share one policy and differ only in what they
can learn (docs/internals.md, "One doubles policy"). A full scan does not
read a file with no `async`/`await` that patches through a variable
(`fake = helpers.fake_async` then `patch("m.f", fake)`), so that double is not seen.
""",
)

AG202 = RuleMeta(
    code="AG202",
    slug="sync-double-over-async",
    template=(
        "`{double}` replaces async `{target}`; the double's call returns no awaitable where the target's "
        "returns a coroutine, so an `await` of it raises TypeError in the test"
    ),
    fix="patch with `autospec=True`, or use `AsyncMock(return_value=...)`",
    summary="a sync test double (`MagicMock`) patched over an `async def` target",
    hooks=("scan", "mypy", "smoke"),
    doc="""\
**What it does**

Finds a sync test double (`Mock()`, `MagicMock()`, `new_callable=MagicMock`, a plain `def` or a
`lambda` that returns only literals, displays, comparisons or `None`) patched over an `async def`
target that the project awaits somewhere (`await ...target(`), through the same patch forms as
AG201, or a mock assigned over it in test code (`client.fetch = MagicMock()`).

**Why is this bad?**

Code under test that awaits the target fails inside the test with
`TypeError: object MagicMock can't be used in 'await' expression`, or, when the test exercises a
sync path, it hides that production returns a coroutine that must be awaited.

**Example**

```python
from unittest.mock import MagicMock, patch


async def fetch_user():
    return {"id": 1}


async def profile():
    return await fetch_user()


def test_profile():
    with patch("example.fetch_user", new=MagicMock()):
        pass
```

**Use instead**

```python
from unittest.mock import patch


async def fetch_user():
    return {"id": 1}


async def profile():
    return await fetch_user()


def test_profile():
    with patch("example.fetch_user"):
        pass
```

**Known problems**

Reported only for an `async def` target that code outside the tests awaits somewhere (a line with
`await ...name(`), by each of the three hooks: a target that production only hands to a runner
accepting both kinds may be meant to be replaced by a sync double, and so may a plain `def` that
returns a task or a future. Targets and doubles a hook cannot resolve or classify are silent, as
for AG201 (a `def` or `lambda` returning a call, `lambda self: fake()`, may return a coroutine),
and so is a mock the test configures after patching it (`m.return_value = ...`) or whose
`return_value` the scanner cannot tell is never awaitable (a future made elsewhere); a patch
with `autospec=True` (or an assigned mock with a `spec`, `spec_set` or `wraps`) is never reported.
Only the scan sees the assignment form, as for AG201.
""",
)

META = (AG201, AG202)
KINDS = frozenset({"patch"})
# the doubles policy's kinds (awaitguard.patching.judge decides, for the three hooks) and their codes
BY_KIND = {Mismatch.AWAITABLE_OVER_SYNC: AG201, Mismatch.SYNC_OVER_ASYNC: AG202}


def meta_of(kind: Mismatch) -> RuleMeta:
    """The rule of a mismatch kind: the mypy plugin and the smoke run name their findings by it."""
    return BY_KIND[kind]


def unawaited_mock_words(*, name: str, spelled: str = "", meant: str = "", guessed: bool = False) -> tuple[str, str]:
    """AG201 at run time (the smoke hook): the message and the fix when the ``AsyncMock`` ``name`` (called as
    ``spelled`` where the line shows it otherwise) was called without ``await``. ``meant``: the call is of an
    attribute the mock auto-created, named like an assertion (``meant`` lower-cased); ``guessed``: the mock has
    an assertion of that name, so the call is a misspelling of it."""
    shown = f"`{spelled}` (mock `{name}`)" if spelled and spelled != name else f"`{name}`"
    if meant:
        guess = f" (a misspelt `{meant}`?)" if guessed else ""
        message = (
            f"{shown} is an attribute the mock auto-created{guess}: calling it asserts nothing, "
            "it only returns a coroutine that is never awaited"
        )
        return message, f"spell the assertion `{meant}`" if guessed else "call a real assertion"
    # which side is wrong is not known: the double (over a sync callable) or the call (a missing `await` on
    # an async one, which the double then stands for rightly): the help names both
    message = (
        f"{shown} is an `AsyncMock` called without `await`: its coroutine is never awaited; either the "
        "double replaces a sync callable, or this call misses an `await`"
    )
    fix = (
        "if what the double replaces is sync, use `Mock(...)` or patch with `autospec=True`; "
        "if it is async, `await` the call"
    )
    return message, fix


def check(resolver: Resolver, facts: ModuleFacts, site: Site) -> Iterator[Finding]:
    found = resolver.patch_call(facts, site)
    if found is None:
        return
    call, target = found
    short = target.defn.qualname.rsplit(".", 1)[-1] if target.defn is not None else call.target
    verdict = judge(call, lambda: resolver.production_awaits(short))
    if verdict.kind is None:
        return
    yield finding(resolver, facts, site, BY_KIND[verdict.kind], target, double=call.double, target=call.target)
