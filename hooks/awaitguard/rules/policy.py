"""AG108/AG109/AG203: a project's own policies (``[tool.awaitguard.policy]``, docs/policies.md).

These rules judge no site of their own: ``awaitguard.policy`` finds their findings, with the
project's policy in hand. Their codes, messages and docs live here, beside the other families.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from awaitguard.findings import Finding
from awaitguard.model import ModuleFacts, Site
from awaitguard.rules._base import RuleMeta

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver

AG108 = RuleMeta(
    code="AG108",
    slug="sync-twin-in-async",
    template="`{callee}` is the sync twin of `{twin}`{where}: in async code it blocks the event loop",
    fix="{fix}",
    summary="in `async def` code, a call to the sync twin of a declared or conventionally named async twin",
    hooks=("scan", "mypy"),
    doc="""\
**What it does**

In `async def` code, finds a call to the sync half of a pair of twins: a pair declared in
`[tool.awaitguard.policy] twins`, or found by the naming conventions (`get_manager` and
`get_manager_async`, `read` and `aread`, defined side by side, one `def`, the other `async def`).
A call counts when it resolves to the sync twin's definition (by its qualified name, however it is
imported); another function with the same last name is no twin, and a call the scanner cannot follow
(an injected dependency) says nothing. Only with a `[tool.awaitguard.policy]` table.

**Why is this bad?**

The sync twin does blocking work (or builds a blocking object) inside the event loop, and the
async one exists precisely for this caller: every other task stalls while it runs.

**Options**

```toml
[tool.awaitguard.policy]
twins = { "example.get_manager" = "example.get_manager_async" }
```

**Example**

```python
def get_manager():
    return {"mode": "sync"}


async def get_manager_async():
    return {"mode": "async"}


async def handler():
    return get_manager()
```

**Use instead**

```python
def get_manager():
    return {"mode": "sync"}


async def get_manager_async():
    return {"mode": "async"}


async def handler():
    return await get_manager_async()
```
""",
)

AG109 = RuleMeta(
    code="AG109",
    slug="forbidden-in-async",
    template="`{callee}` must never be called from async code (`forbid-in-async` in {policy})",
    fix="{fix}",
    summary="in `async def` code, a call to a sync API the project's policy forbids there",
    hooks=("scan", "mypy"),
    doc="""\
**What it does**

Finds a call, in `async def` code, to a function the project lists in
`[tool.awaitguard.policy] forbid-in-async` (a blocking client, a sync driver), however it is
reached: imported under another name, through a module, as a method.

**Why is this bad?**

The call blocks the event loop for as long as it runs; the team has said so once, in the policy,
so every commit is held to it.

**Options**

```toml
[tool.awaitguard.policy]
forbid-in-async = ["example.fetch_blocking"]
```

**Example**

```python
def fetch_blocking():
    return {"id": 1}


async def handler():
    return fetch_blocking()
```

**Use instead**

```python
import asyncio


def fetch_blocking():
    return {"id": 1}


async def handler():
    return await asyncio.to_thread(fetch_blocking)
```
""",
)

AG203 = RuleMeta(
    code="AG203",
    slug="mocked-real-component",
    template="`{double}` replaces `{target}`, which `real` in {policy} keeps real in `{paths}`",
    fix="use the real component here, or move the test out of `{paths}`",
    summary="in the test paths of a `real` policy, a test double over a component that must stay real",
    hooks=("scan", "mypy", "smoke"),
    doc="""\
**What it does**

In the test paths of a `[[tool.awaitguard.policy.real]]` entry, finds any test double over a name
matching its `targets`: `patch` (decorator, context manager, `start()`), `patch.object`,
`patch.multiple`, `mocker.patch`, `monkeypatch.setattr`, with or without `autospec`, and doubles
built with `create_autospec(...)` or `Mock(spec=...)` (as fixtures return them). The patched name
counts as written and as the definition it reaches through imports. `awaitguard smoke` fails such a
test at run time too.

**Why is this bad?**

The team decided that these tests exercise the real component: a double there is legal Python,
and can hide exactly the sync/async mismatch the tests were written to catch.

**Options**

```toml
[[tool.awaitguard.policy.real]]
targets = ["example.get_manager"]
paths = ["example.py"]
```

**Example**

```python
from unittest.mock import patch


def get_manager():
    return {"mode": "prod"}


def test_handler():
    with patch("example.get_manager", autospec=True):
        pass
```

**Use instead**

```python
def get_manager():
    return {"mode": "prod"}


def test_handler():
    assert get_manager() == {"mode": "prod"}
```
""",
)

META = (AG108, AG109, AG203)


# -- wording: ``awaitguard.policy`` (scan, mypy) and the smoke run's guard give the facts ---------------
def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def twin_args(*, sync: str, twin: str, receiver: str) -> dict[str, str]:
    """AG108's arguments: a call of the sync twin ``sync`` (qualified names), written on ``receiver``
    (``"self."``, ``"time."``, or "" for a plain name).

    Twins of one owner (module or class) share the receiver: ``self.read`` -> ``await self.aread``.
    Twins of different owners (``time.sleep`` and ``asyncio.sleep``) do not, so the fix names the
    async twin in full: ``await time.sleep(...)`` would be a TypeError."""
    if _short(sync) == _short(twin):  # `sleep` is the sync twin of `sleep` says nothing
        callee, shown, where = sync, twin, ""
    else:
        callee, shown, where = _short(sync), _short(twin), f" (`{twin}`)"
    same_owner = sync.rpartition(".")[0] == twin.rpartition(".")[0]
    call = f"{receiver}{_short(twin)}" if same_owner else twin
    return {"callee": callee, "twin": shown, "where": where, "fix": f"call `await {call}(...)` instead"}


def twin_note(*, twin: str, of_async: bool) -> str:
    """The note at the other half of a pair of twins, on an AG101/AG102 finding about one half:
    ``of_async``, the finding is about the async half and ``twin`` is its sync twin."""
    name = _short(twin)
    if of_async:
        return f"`{name}` is its sync twin, for sync code: `{name}(...)`"
    return f"`{name}` is its async twin: `await {name}(...)`"


def forbidden_args(*, callee: str, policy: str, written: str) -> dict[str, str]:
    """AG109's arguments: ``callee`` (qualified), matched by the `forbid-in-async` entry at ``policy``
    (``path:line``), called as ``written``."""
    return {"callee": callee, "policy": policy, "fix": f"run it in a thread: `await asyncio.to_thread({written}, ...)`"}


def forbidden_note() -> str:
    """AG109's note at the policy's line."""
    return "the `forbid-in-async` policy"


def real_args(*, double: str, target: str, policy: str, paths: Sequence[str]) -> dict[str, str]:
    """AG203's arguments: ``double`` replaces ``target``, kept real in ``paths`` by the `real` entry at ``policy``."""
    return {"double": double, "target": target, "policy": policy, "paths": ", ".join(paths)}


def real_note() -> str:
    """AG203's note at the policy's line."""
    return "the `real` policy"


KINDS: frozenset[str] = frozenset()  # no site kind: ``awaitguard.policy`` reports these


def check(resolver: Resolver, facts: ModuleFacts, site: Site) -> Iterator[Finding]:
    """Never called (no ``KINDS``): the policy findings need the policy, which sites do not carry."""
    return iter(())
