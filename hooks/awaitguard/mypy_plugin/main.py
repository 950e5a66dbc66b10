"""The plugin class. It only routes: each hook tests the fullname and returns a callback or None."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from mypy.nodes import MypyFile
from mypy.options import Options
from mypy.plugin import (
    AttributeContext,
    FunctionContext,
    FunctionSigContext,
    MethodContext,
    MethodSigContext,
    Plugin,
    ReportConfigContext,
)
from mypy.types import FunctionLike, Type

from awaitguard.config import ConfigError
from awaitguard.mypy_plugin import callbacks, config, patches, policy, signatures
from awaitguard.mypy_plugin.services import Services

FUNCTIONS: dict[str, Callable[[Services, FunctionContext], Type]] = {
    "importlib.import_module": callbacks.import_module,
    "builtins.__import__": callbacks.dunder_import,
    "builtins.getattr": callbacks.getattr_literal,
}
MODULE_TYPE = "types.ModuleType."
PATCHERS = ("unittest.mock._patcher", "pytest_mock.plugin.MockerFixture._Patcher")
PATCH_METHODS = {
    f"{owner}.{method}": form
    for owner in PATCHERS
    for method, form in (("__call__", "patch"), ("object", "object"), ("multiple", "multiple"))
}
PATCH_METHODS["_pytest.monkeypatch.MonkeyPatch.setattr"] = "setattr"


class AwaitguardPlugin(Plugin):
    DATA = False  # findings as notes for people (a plain mypy run)

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        try:
            settings = config.load(options.config_file)
        except ConfigError as exc:
            # mypy offers plugins no error channel at load time: one line, exit 2 (as django-stubs).
            print(f"awaitguard.mypy: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        self.services = Services(options, settings, data=self.DATA)
        self.policy = policy.PolicyFindings(self.services, settings.policy) if settings.policy else None

    def set_modules(self, modules: dict[str, MypyFile]) -> None:
        super().set_modules(modules)
        self.services.start_build(modules)

    def report_config_data(self, ctx: ReportConfigContext) -> Any:
        return callbacks.config_data(self.services, ctx)

    def get_additional_deps(self, file: MypyFile) -> list[tuple[int, str, int]]:
        return callbacks.additional_deps(self.services, file)

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        found = self._function_hook(fullname)
        if self.policy is not None and self.policy.routed(fullname):
            return policy.chained(found, partial(policy.report, self.policy))
        return found

    def _function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        if fullname in FUNCTIONS:
            return partial(FUNCTIONS[fullname], self.services)
        if callbacks.plain_callee(self.services, fullname):
            return partial(callbacks.await_plain_call, self.services, fullname)
        return None

    def get_function_signature_hook(self, fullname: str) -> Callable[[FunctionSigContext], FunctionLike] | None:
        return signatures.SIGNATURE_HOOKS.get(signatures.signature_hook(self.services, fullname))

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], FunctionLike] | None:
        return signatures.SIGNATURE_HOOKS.get(signatures.signature_hook(self.services, fullname))

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        if fullname.startswith(MODULE_TYPE):
            return callbacks.module_attribute
        return None

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        found = self._method_hook(fullname)
        if self.policy is not None and (fullname in PATCH_METHODS or self.policy.routed(fullname)):
            return policy.chained(found, partial(policy.report, self.policy))
        return found

    def _method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        if fullname in PATCH_METHODS:
            return partial(patches.check_patch, self.services, PATCH_METHODS[fullname])
        if callbacks.plain_callee(self.services, fullname):
            return partial(callbacks.await_plain_call, self.services, fullname)
        if signatures.signature_hook(self.services, fullname) == "dual-overload":
            return partial(signatures.dual_overload_call, self.services, fullname)
        return None


class AwaitguardDataPlugin(AwaitguardPlugin):
    """The plugin as ``awaitguard mypy`` loads it: each finding is handed back as data."""

    DATA = True


__all__ = ["AwaitguardDataPlugin", "AwaitguardPlugin"]
