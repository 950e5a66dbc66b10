"""Every shipped stub agrees with the installed library: ``async def`` <=> coroutine function."""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

STUBS = Path(__file__).resolve().parents[1] / "stubs"
# Django must be configured before channels' consumers can be imported.
NEEDS_DJANGO = ("channels",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(STUBS).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _declared(tree: ast.Module) -> Iterator[tuple[str, bool]]:
    """(qualname, declared async) for module functions and class methods, skipping overloads."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("__"):
            if not any(isinstance(d, ast.Name) and d.id == "overload" for d in node.decorator_list):
                yield node.name, isinstance(node, ast.AsyncFunctionDef)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("__"):
                    yield f"{node.name}.{item.name}", isinstance(item, ast.AsyncFunctionDef)


def _cases() -> Iterator[object]:
    for path in sorted(STUBS.rglob("*.pyi")):
        module = _module_name(path)
        for qualname, is_async in _declared(ast.parse(path.read_text(encoding="utf-8"))):
            yield pytest.param(module, qualname, is_async, id=f"{module}:{qualname}")


def _import(module: str) -> object:
    top = module.partition(".")[0]
    pytest.importorskip(top, reason=f"{top} is not installed (pip install the test extra)")
    if top in NEEDS_DJANGO:
        pytest.importorskip("django", reason="django is not installed")
        from django.conf import settings

        if not settings.configured:
            settings.configure()
    return importlib.import_module(module)


def test_stub_cases_found() -> None:
    assert len(list(_cases())) >= 60


@pytest.mark.parametrize(("module", "qualname", "is_async"), list(_cases()))
def test_stub_matches_runtime(module: str, qualname: str, is_async: bool) -> None:
    obj: object = _import(module)
    for part in qualname.split("."):
        assert hasattr(obj, part), f"{module}.{qualname} does not exist at runtime"
        obj = getattr(obj, part)
    if inspect.isclass(obj):  # database_sync_to_async is a class whose instances are coroutine functions
        assert not is_async, f"{module}.{qualname} is a class; declare it `def`"
        return
    assert inspect.iscoroutinefunction(obj) is is_async, (
        f"{module}.{qualname} is {'' if inspect.iscoroutinefunction(obj) else 'not '}a coroutine function "
        f"at runtime, but the stub declares it `{'async def' if is_async else 'def'}`"
    )
