"""The project's policies in a mypy run (docs/policies.md): AG203 at the patch calls and the doubles
built from a class, AG108/AG109 at the calls of sync twins and forbidden APIs.

The findings come from the scan's own policy pass (``awaitguard.policy``) over the file, once per
file; a callback emits the one at its call's position as a mypy error with the rule's own code
(``mocked-real-component``, ``sync-twin-in-async``, ``forbidden-in-async``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mypy.nodes import CallExpr, FuncDef
from mypy.plugin import FunctionContext, MethodContext
from mypy.types import Type

from awaitguard.config import Policy, name_matches
from awaitguard.findings import Finding
from awaitguard.mypy_plugin.emit import emit
from awaitguard.mypy_plugin.services import Services
from awaitguard.policy.check import Checker

# the calls that build a double from a class (``create_autospec(Manager)``, ``Mock(spec=Manager)``)
DOUBLE_BUILDERS = frozenset(
    {f"unittest.mock.{name}" for name in ("create_autospec", "Mock", "MagicMock", "AsyncMock", "NonCallableMock")}
    | {"pytest_mock.plugin.MockerFixture.create_autospec", "_pytest.monkeypatch.MonkeyPatch.setattr"}
)
_Ctx = TypeVar("_Ctx", FunctionContext, MethodContext)


class PolicyFindings:
    """The policy findings of each file mypy checks, computed on first ask."""

    def __init__(self, services: Services, policy: Policy) -> None:
        self.services = services
        self.policy = policy
        self._checker: Checker | None = None
        self._found: dict[str, dict[tuple[int, int], list[Finding]]] = {}

    def checker(self) -> Checker:
        """Not validated here: the project view of a mypy run reads no libraries (`time.sleep` would
        name nothing); `awaitguard scan` and `awaitguard policy --show` validate the policy."""
        if self._checker is None:
            self._checker = Checker(self.policy, self.services.project.resolver)
        return self._checker

    def at(self, path: str, line: int, col: int) -> list[Finding]:
        found = self._found.get(path)
        if found is None:
            found = self._found[path] = {}
            project = self.services.project
            rel = project.relative(path)
            data = project.index.tree.read([rel]).get(rel) if rel is not None else None
            if rel is not None and data is not None:
                for finding in self.checker().file(rel, data):
                    found.setdefault((finding.line, finding.col), []).append(finding)
        return found.get((line, col), [])  # not popped: a call checked under filter_errors comes again

    def routed(self, fullname: str) -> bool:
        """Whether calls of ``fullname`` may hold a policy finding (mypy asks per callee name)."""
        policy = self.policy
        if fullname in DOUBLE_BUILDERS:
            return bool(policy.real)
        if name_matches(fullname, policy.forbid_in_async) or any(fullname == sync for sync, _ in policy.twins):
            return True
        head, _, own = fullname.rpartition(".")
        for convention in policy.conventions:
            symbol = self.services.lookup(f"{head}.{convention.replace('*', own)}") if head else None
            if symbol is not None and isinstance(symbol.node, FuncDef) and symbol.node.is_coroutine:
                return True
        return False


def report(findings: PolicyFindings, ctx: FunctionContext | MethodContext) -> Type:
    """Emit the policy findings at this call (its line and 1-based column, as the scan counts them)."""
    call = ctx.context
    if isinstance(call, CallExpr):
        for finding in findings.at(ctx.api.path, call.line, call.column + 1):
            notes = [(r.note, f"{r.path}:{r.line}:{r.col}") for r in finding.related]
            emit(findings.services, ctx.api, finding.code, call, finding.kwargs, notes)
    return ctx.default_return_type


def chained(first: Callable[[_Ctx], Type] | None, second: Callable[[_Ctx], Type]) -> Callable[[_Ctx], Type]:
    """Both callbacks on one call (mypy takes one per callee): ``first``'s type, then ``second``'s check."""
    if first is None:
        return second

    def both(ctx: _Ctx) -> Type:
        second(ctx)
        return first(ctx)

    return both


__all__ = ["DOUBLE_BUILDERS", "PolicyFindings", "chained", "report"]
