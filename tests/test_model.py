"""Facts cross processes and the cache as pickles: what comes back is what went in, record by record."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, cast

import pytest

from awaitguard.facts import collect
from awaitguard.model import DefFact, ImportFact, ModuleFacts, ScopeFact, Site

SOURCE = b"""\
import asyncio
from unittest.mock import AsyncMock, patch

__all__ = ["Client"]


class Client:
    session: asyncio.Lock

    def __init__(self) -> None:
        self.lock = asyncio.Lock()

    async def get(self, key: str) -> bytes:
        async with self.lock:
            return await fetch(key)  # awaitguard: ignore[AG101]


def fetch(key):
    for part in key:
        yield part


def test_client():
    with patch("app.fetch", new=AsyncMock()):
        Client().get("x")
"""


def records(facts: ModuleFacts) -> list[object]:
    return [*facts.defs, *facts.imports, *facts.scopes, *facts.sites]


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_module_facts_survive_a_pickle_whole(protocol: int) -> None:
    facts = collect("app.py", "app", False, SOURCE)
    assert facts.defs and facts.imports and facts.scopes and facts.sites and facts.suppressions
    back = pickle.loads(pickle.dumps(facts, protocol=protocol))
    assert type(back) is ModuleFacts
    assert repr(back) == repr(facts)  # the repr names each record's class: a plain tuple would show
    assert [type(record) for record in records(back)] == [type(record) for record in records(facts)]
    assert {DefFact, ImportFact, ScopeFact, Site} == {type(record) for record in records(back)}
    assert back.sites[0].shown  # records keep their methods


def test_a_pickle_of_another_layout_fails_to_load() -> None:
    """A cache entry written with a record one field short is an error (a cache miss), not a fact."""
    facts = collect("app.py", "app", False, SOURCE)
    reduced = facts.__reduce__()
    rebuild = cast("Callable[[tuple[Any, ...]], ModuleFacts]", reduced[0])
    (plain,) = cast("tuple[tuple[Any, ...]]", reduced[1])
    assert rebuild(plain) == facts
    broken = (*plain[:3], tuple(d[:-1] for d in plain[3]), *plain[4:])
    with pytest.raises(TypeError):
        rebuild(broken)


def test_ag111_knows_every_function_the_walk_records_arguments_of() -> None:
    """The walk's table of asyncio's functions (``AWAITABLE_ARGUMENTS``) and AG111's errors name the same ones:
    a name in one only is either never recorded or recorded and never judged."""
    from awaitguard.model import AWAITABLE_ARGUMENTS
    from awaitguard.rules.awaits.handed import _ERRORS

    assert {name.rsplit(".", 1)[-1] for name in _ERRORS} == set(AWAITABLE_ARGUMENTS)
    assert all(name.startswith("asyncio.") for name in _ERRORS)


def test_incidents_find_a_hand_off_wherever_ag111_judges_one() -> None:
    """An AG111 incident is recorded at the argument of a call the ingester knows as a hand-off: the functions
    and methods the walk records arguments of."""
    from awaitguard.incidents.sites import HANDING
    from awaitguard.model import AWAITABLE_ARGUMENTS

    assert set(AWAITABLE_ARGUMENTS) == HANDING


def test_the_walk_and_the_incidents_walker_take_the_same_calls_for_hand_offs() -> None:
    """The scan's walk (``expressions.handed_calls``) and the incidents walker (``incidents/sites.py``) each decide
    which calls hand a value to asyncio or to a project's spawner; the layer map keeps them from sharing code."""
    import ast

    from awaitguard.expressions import handed_calls
    from awaitguard.incidents.sites import Module

    names = ["create_task", "run_until_complete", "async_create_task", "queue_task", "append", "spawn"]
    source = "".join(f"x.{name}(f())\n" for name in names)
    tree = ast.parse(source)
    walk = {node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and list(handed_calls(node))}
    module = Module(tree, source.encode())
    incidents = {node.func.attr for kind, node, _ in module.nodes if kind == "handed" and isinstance(node, ast.Call)}
    assert walk == incidents == {"create_task", "run_until_complete", "async_create_task", "queue_task"}
