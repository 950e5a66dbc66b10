"""One doubles policy for the three hooks: a patch call's record and the one verdict on it.

A test double replaces a target (``unittest.mock.patch`` in all its forms, pytest-mock's ``mocker``
twins, ``monkeypatch.setattr``, or, in test code, a mock assigned to the attribute:
``obj.method = MagicMock()``). Whether it breaks the test's view of production depends on facts
that each hook learns its own way: the scan from source (``resolve``), the mypy plugin from types,
the smoke run from the live objects. Each of them only fills a ``PatchCall`` with what it knows
(``None`` where it cannot tell); ``judge`` decides, the same way for all three, and answers with a
``Mismatch`` kind (or none) plus the reasons as data. The rule family (``rules/doubles.py``) maps a
kind to its code and words the message. docs/internals.md lists which facts each hook supplies.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Literal, NamedTuple, Protocol

from awaitguard.layout import is_test_code

# "assign": `obj.attr = MagicMock()` in test code, which replaces `obj.attr` as `patch.object(obj, "attr", ...)` does
Form = Literal["patch", "patch.object", "patch.multiple", "monkeypatch.setattr", "assign"]
# what the target is defined as: "" when it is not a function (a class, an attribute) or is not known
TargetDef = Literal["async def", "def", ""]
# what a mock's configuration (side_effect / return_value) makes its call give: awaitable (True),
# not awaitable (False), cannot tell (None); ABSENT when the call does not configure it
ABSENT: Literal["absent"] = "absent"
Configured = bool | None | Literal["absent"]


class Mismatch(enum.Enum):
    """The two ways a double's awaitability can differ from its target's."""

    AWAITABLE_OVER_SYNC = "awaitable-over-sync"  # the double's call gives an awaitable, the target's does not
    SYNC_OVER_ASYNC = "sync-over-async"  # the double's call gives no awaitable, the target's a coroutine


# Why a patch call is (or is not) a mismatch, as data: ``judge`` gives the ones that decided.
Reason = Literal[
    "spec",  # spec/spec_set/autospec: mock builds the double from the target, so it mirrors it
    "target-unknown",  # what calling the target gives is not known
    "double-unknown",  # what calling the double gives is not known (a helper's mock, a raising fake)
    "configured-later",  # the test sets the mock's return_value/side_effect after patching (or assigning) it
    "same",  # the double and the target agree
    "target-awaitable",
    "target-not-awaitable",
    "double-awaitable",
    "double-not-awaitable",
    "side-effect",  # the mock's side_effect decides what its call gives
    "return-value",  # the mock's return_value decides what its call gives
    "target-not-async-def",  # a `def` returning an awaitable (a Task, a future) may take a sync double
    "target-async-def",  # an `async def` decorated into a sync callable is left alone
    "not-awaited-in-production",  # nothing outside the tests writes `await ...target(`
]


class Double(NamedTuple):
    """What a hook learns of a double by itself, the same fields whether from its types (the mypy plugin) or
    from the live object (the smoke run): the ``PatchCall`` fields it fills."""

    awaitable: bool | None  # calling it gives an awaitable, by what it is (its class, its def)
    mock: bool = False
    spec: bool = False
    side_effect: Configured = ABSENT
    return_value: Configured = ABSENT


class PatchCall(NamedTuple):
    """One replaced name of one patch call: what is replaced, by what, and what each hook knows."""

    form: Form
    target: str  # the name as patched (`shop.svc.charge`, `Gateway.refund`)
    double: str  # the double as the messages show it (`AsyncMock`, `new_callable=Mock`, `lambda`)
    target_awaitable: bool | None  # calling the target gives an awaitable
    double_awaitable: bool | None  # calling the double gives an awaitable, by what it is (its class, its def)
    target_def: TargetDef = ""
    spec: bool = False  # spec/spec_set/autospec given: the double is built from the target
    mock: bool = False  # a sync mock, whose configuration below decides what a call gives
    side_effect: Configured = ABSENT  # what calling the mock's side_effect gives
    return_value: Configured = ABSENT  # whether the mock's return_value is awaitable
    configured_later: bool = False  # the test configures the mock after patching it
    production_awaits: bool | None = None  # code outside the tests writes `await ...target(` (None: not looked)


class Verdict(NamedTuple):
    kind: Mismatch | None  # None: no finding
    reasons: tuple[Reason, ...]


def double_gives(call: PatchCall) -> tuple[bool | None, Reason]:
    """What calling the double gives, once its configuration is taken into account."""
    if call.double_awaitable is True:
        return True, "double-awaitable"  # an AsyncMock or an `async def` fake, whatever it is set to do
    if call.mock:
        if call.side_effect != ABSENT:
            return call.side_effect, "side-effect"
        if call.return_value is True or call.return_value is None:
            return call.return_value, "return-value"  # Mock(return_value=<future>) fakes an async callable
        if call.configured_later:
            return None, "configured-later"
    if call.spec:
        return None, "spec"
    if call.double_awaitable is None:
        return None, "double-unknown"
    return False, "double-not-awaitable"


def judge(call: PatchCall, production_awaits: Callable[[], bool | None] | None = None) -> Verdict:
    """The doubles policy: a finding when the double's awaitability differs from the target's, where
    both are known; a sync double over an async target only when that target is an `async def` that
    production code awaits (unless the hook could not look), an awaitable one over a sync target only
    when the target is not an `async def`.

    ``production_awaits``: asked for ``call.production_awaits`` when the record leaves it ``None``
    and the verdict hinges on it (looking costs a search of the project's files)."""
    double, why = double_gives(call)
    if double is None:
        return Verdict(None, (why,))
    if call.target_awaitable is None:
        return Verdict(None, ("target-unknown",))
    target: Reason = "target-awaitable" if call.target_awaitable else "target-not-awaitable"
    if double == call.target_awaitable:
        return Verdict(None, ("same", why, target))
    if double:
        if call.target_def == "async def":
            return Verdict(None, (why, target, "target-async-def"))
        return Verdict(Mismatch.AWAITABLE_OVER_SYNC, (why, target))
    if call.target_def != "async def":
        return Verdict(None, (why, target, "target-not-async-def"))
    awaited = call.production_awaits
    if awaited is None and production_awaits is not None:
        awaited = production_awaits()
    if awaited is False:
        return Verdict(None, (why, target, "not-awaited-in-production"))
    return Verdict(Mismatch.SYNC_OVER_ASYNC, (why, target))


# -- production's awaits -------------------------------------------------------------------------
class Source(Protocol):
    """What ``ProductionAwaits`` reads: a project's files (``tree.Tree`` is one)."""

    def grep(self, words: Collection[str]) -> set[str]: ...

    def read(self, paths: Iterable[str]) -> Mapping[str, bytes]: ...


class ProductionAwaits:
    """Whether code outside the tests (``layout.is_test_code``) writes `await ...name(`: a sync double
    breaks only a target production awaits (a runner accepting both kinds may call it directly)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._found: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        found = self._found.get(name)
        if found is None:
            pattern = re.compile(rb"\bawait\s+(?:[\w.]+\.)?" + re.escape(name.encode()) + rb"\s*\(")
            candidates = sorted(p for p in self.source.grep({name}) if not is_test_code(p))
            blobs = self.source.read(candidates)
            found = self._found[name] = any(pattern.search(blob) for blob in blobs.values())
        return found


__all__ = [
    "ABSENT",
    "Configured",
    "Form",
    "Mismatch",
    "PatchCall",
    "ProductionAwaits",
    "Reason",
    "TargetDef",
    "Verdict",
    "double_gives",
    "judge",
]
