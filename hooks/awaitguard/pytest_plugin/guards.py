"""AG201/AG202 at run time: a test double whose awaitability differs from the target it replaces.

``DoubleGuard`` wraps ``unittest.mock._patch.__enter__`` (decorator, ``with``, ``start()``,
``patch.object``, ``patch.multiple``, pytest-mock's ``mocker.patch``) and ``pytest.MonkeyPatch.setattr``
while it is entered, and restores both on exit.
"""

from __future__ import annotations

import functools
import os
import pkgutil
import sys
import sysconfig
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from awaitguard.config import Policy, name_matches
from awaitguard.patching import Mismatch, ProductionAwaits, double_gives, judge
from awaitguard.pytest_plugin import awaitables
from awaitguard.pytest_plugin.failures import Silencer, failure, split_location
from awaitguard.rules._base import definition_note
from awaitguard.rules.doubles import meta_of
from awaitguard.rules.policy import AG203, real_args, real_note
from awaitguard.tree import FsTree, excluded
from awaitguard.values import DefKind

# The live objects fill a ``patching.PatchCall``; ``patching.judge`` decides as for the scan and the
# mypy hook, and the messages and fixes are the rule family's, rendered by report.

# Frames of the patching APIs themselves: the caller is the first frame outside them.
_API_MODULES = ("unittest.mock", "contextlib", "pytest_mock", "_pytest.monkeypatch", "awaitguard.pytest_plugin")
# Patches made by these frameworks are their own machinery (pytest-asyncio swaps test functions).
_FRAMEWORKS = frozenset({"_pytest", "pytest", "pluggy", "pytest_asyncio", "anyio", "typeguard", "pytest_mock"})
_MISSING = object()
_SETTINGS = (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)


def _said(awaitable: bool | None) -> str:
    """An awaitability as the debug list shows it."""
    return "unknown" if awaitable is None else "awaitable" if awaitable else "not-awaitable"


def _in(module: str, prefixes: tuple[str, ...] | frozenset[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    return tuple(sorted(os.path.realpath(d) + os.sep for d in dirs))


class DoubleGuard:
    """A context manager: while entered, every patch of a project callable is judged."""

    def __init__(
        self,
        rootpath: Path,
        packages: tuple[str, ...],
        silencer: Silencer | None = None,
        policy: Policy | None = None,
        config_root: Path | None = None,
    ) -> None:
        self.rootpath = os.path.realpath(rootpath)
        self.policy = policy  # its `real` entries: AG203 for any double over their targets in their paths
        self.config_root = os.path.realpath(config_root or rootpath)
        self.packages = frozenset(packages)
        self.silencer = silencer
        self.judged: list[str] = []  # "target <- double: verdict" lines for --awaitguard-debug
        self._libraries = _library_dirs()
        self._restore: list[Callable[[], None]] = []
        self._awaits: ProductionAwaits | None = None

    # -- installation -------------------------------------------------------------------------
    def __enter__(self) -> DoubleGuard:
        patch_enter = mock._patch.__enter__
        mp_setattr = pytest.MonkeyPatch.setattr
        mock._patch.__enter__ = self._wrap_patch(patch_enter)  # type: ignore[method-assign]
        pytest.MonkeyPatch.setattr = self._wrap_setattr(mp_setattr)  # type: ignore[method-assign]

        add_spec = mock.NonCallableMock._mock_add_spec
        if self.policy is not None and self.policy.real:  # AG203 for a double built from a real class
            mock.NonCallableMock._mock_add_spec = self._wrap_add_spec(add_spec)  # type: ignore[method-assign]

        def restore() -> None:
            mock._patch.__enter__ = patch_enter  # type: ignore[method-assign]
            pytest.MonkeyPatch.setattr = mp_setattr  # type: ignore[method-assign]
            mock.NonCallableMock._mock_add_spec = add_spec  # type: ignore[method-assign]

        self._restore.append(restore)
        return self

    def _wrap_add_spec(self, original: Callable[..., None]) -> Callable[..., None]:
        """``Mock(spec=Manager)``, ``create_autospec(Manager)`` (a fixture's double): every mock given a
        spec passes here."""
        guard = self

        @functools.wraps(original)
        def _mock_add_spec(double: object, spec: object, *args: Any, **kwargs: Any) -> None:
            original(double, spec, *args, **kwargs)
            if spec is None or isinstance(spec, (list, tuple, str)) or not guard._defined_in_project(spec):
                return
            caller = guard._caller()
            problem = guard._kept_real(caller, awaitables.qualified_name(spec), spec, double) if caller else ""
            if problem:
                pytest.fail(problem, pytrace=False)

        return _mock_add_spec

    def __exit__(self, *exc: object) -> None:
        while self._restore:
            self._restore.pop()()

    def _wrap_patch(self, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        guard = self

        @functools.wraps(original)
        def __enter__(patcher: Any) -> Any:
            try:
                before = patcher.get_original()[0]
            except AttributeError:  # a missing attribute: let mock raise its own error
                before = _MISSING
            result = original(patcher)
            if before is not _MISSING:
                container = patcher.getter()
                after = getattr(container, patcher.attribute, _MISSING)
                problem = guard.judge(container, patcher.attribute, before, after)
                if problem:
                    patcher.__exit__(None, None, None)
                    pytest.fail(problem, pytrace=False)
            return result

        return __enter__

    def _wrap_setattr(self, original: Callable[..., None]) -> Callable[..., None]:
        guard = self

        @functools.wraps(original)
        def setattr(
            mp: pytest.MonkeyPatch,
            target: object,
            name: object,
            value: object = _MISSING,
            raising: bool = True,
        ) -> None:
            if value is _MISSING:
                original(mp, target, name, raising=raising)
                if not isinstance(target, str) or "." not in target:
                    return
                module_path, _, attr = target.rpartition(".")
                try:
                    container: object = pkgutil.resolve_name(module_path)
                except (ImportError, AttributeError, ValueError):
                    return
                before = mp._setattr[-1][2] if mp._setattr else _MISSING
                value, name = name, attr
            else:
                container = target
                before = getattr(target, str(name), _MISSING)
                original(mp, target, name, value, raising=raising)
            if before is _MISSING or not isinstance(name, str):
                return
            problem = guard.judge(container, name, before, value)
            if problem:
                pytest.fail(problem, pytrace=False)

        return setattr

    # -- judging ----------------------------------------------------------------------------
    def judge(self, container: object, attribute: str, before: object, after: object) -> str:
        """The failure text when ``after`` replacing ``container.attribute`` is a bad double, else ""."""
        if after is _MISSING or after is before or not self._in_project(container):
            return ""
        caller = self._caller()
        if caller is None:
            return ""
        target = self._target_name(container, attribute)
        kept_real = self._kept_real(caller, target, before, after)
        if kept_real:
            return kept_real
        double = awaitables.describe_double(after)
        record = awaitables.record(awaitables.double_facts(after), target, double, before)
        verdict = judge(record, functools.partial(self._production_awaits, attribute))
        self.judged.append(
            f"{target} <- {double}: {_said(record.target_awaitable)} <- {_said(double_gives(record)[0])}"
        )
        if verdict.kind is None:
            return ""
        code = meta_of(verdict.kind).code
        kind: DefKind = "async def" if verdict.kind is Mismatch.SYNC_OVER_ASYNC else "def"
        if self.silencer is not None and self.silencer.silenced(caller, code):
            return ""
        resolved = awaitables.qualified_name(before)
        args = {"double": double, "target": target, "expr": double, "callee": resolved or target}
        notes: list[tuple[str, str]] = []
        where = awaitables.defined_at(before, self.rootpath)
        if where:
            args["defined_at"] = where
            short = getattr(awaitables._unwrap_descriptor(before), "__name__", attribute)
            also = resolved if resolved and resolved != target else ""
            if isinstance(before, type):
                kind = "class"
            notes.append((where, definition_note(short, kind, also)))
        return failure(caller, code, args, notes)

    def _production_awaits(self, name: str) -> bool:
        """Whether the project's code outside its tests awaits a call of ``name`` (the scanner's search)."""
        if self._awaits is None:
            self._awaits = ProductionAwaits(FsTree(Path(self.rootpath)))
        return self._awaits(name)

    def _kept_real(self, caller: str, target: str, before: object, after: object) -> str:
        """AG203: the failure text when a `real` policy keeps ``target`` real where ``caller`` patches it."""
        if self.policy is None or not self.policy.real or not caller:
            return ""
        path, _ = split_location(caller)
        absolute = os.path.realpath(os.path.join(self.rootpath, path))
        shown = os.path.relpath(absolute, self.config_root).replace(os.sep, "/")
        if isinstance(after, _SETTINGS):
            return ""  # a setting changed for the test (`patch("app.FLAG", True)`), not a double
        resolved = awaitables.qualified_name(before)
        if isinstance(before, types.ModuleType):
            resolved = before.__name__
        # the name as patched counts when what it held is the project's (not `app.ws.sys`, the stdlib's)
        names = [resolved] if resolved else []
        if not resolved or self._defined_in_project(before):
            names.append(target)
        for entry in self.policy.real:
            if not excluded(shown, entry.paths):
                continue
            name = next((n for n in names if name_matches(n, entry.targets)), "")
            if not name or (self.silencer is not None and self.silencer.silenced(caller, AG203.code)):
                continue
            where = f"{self.policy.source}:{entry.line}"
            args = real_args(double=awaitables.describe_double(after), target=name, policy=where, paths=entry.paths)
            note = os.path.relpath(os.path.join(self.config_root, self.policy.source), self.rootpath)
            return failure(caller, AG203.code, args, [(f"{note}:{entry.line}", real_note())])
        return ""

    def _defined_in_project(self, obj: object) -> bool:
        if isinstance(obj, types.ModuleType):
            return self._in_project(obj)
        module = sys.modules.get(str(getattr(awaitables._unwrap_descriptor(obj), "__module__", "")))
        return module is not None and self._in_project(module)

    def _target_name(self, container: object, attribute: str) -> str:
        if isinstance(container, types.ModuleType):
            return f"{container.__name__}.{attribute}"
        owner = container if isinstance(container, type) else type(container)
        return f"{owner.__module__}.{owner.__qualname__}.{attribute}"

    def _in_project(self, container: object) -> bool:
        if isinstance(container, types.ModuleType):
            module_name = container.__name__
        else:
            owner = container if isinstance(container, type) else type(container)
            module_name = str(getattr(owner, "__module__", ""))
        if _in(module_name, self.packages):
            return True
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            return False
        path = os.path.realpath(path)
        if path.startswith(self._libraries):
            return False
        return path.startswith(self.rootpath + os.sep)

    def _caller(self) -> str | None:
        """``path:line`` of the patch in project code; None when a framework patches for itself."""
        frame = sys._getframe(2)
        decorated: object = None
        while frame is not None:
            module = str(frame.f_globals.get("__name__", ""))
            if not _in(module, _API_MODULES):
                break
            if module == "unittest.mock" and frame.f_code.co_name == "patched":
                decorated = frame.f_locals.get("func")
            frame = frame.f_back  # type: ignore[assignment]
        if decorated is not None:  # @patch(...) on a test: point at the test
            return awaitables.defined_at(decorated, self.rootpath)
        if frame is None:
            return ""
        if _in(module, _FRAMEWORKS):
            return None
        path = frame.f_code.co_filename
        root = self.rootpath + os.sep
        path = path[len(root) :] if path.startswith(root) else path
        return f"{path}:{frame.f_lineno}"
