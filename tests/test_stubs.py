"""Every shipped stub agrees with the installed library: ``async def`` <=> coroutine function, and a
protocol entry point (``__aenter__``...) a stub class leaves out is missing at runtime or refuses."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

STUBS = Path(__file__).resolve().parents[1] / "stubs"
FALLBACK = "scan-only"  # index.FALLBACK_STUBS: the stubs the scan uses when the library is not installed
PROTOCOL = ("__enter__", "__iter__", "__aenter__", "__aiter__", "__anext__", "__await__")
# Django must be configured before channels' consumers can be imported.
NEEDS_DJANGO = ("channels",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(STUBS).with_suffix("").parts)
    if parts[0] == FALLBACK:
        parts.pop(0)
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


def _protocol_cases() -> Iterator[object]:
    """(module, class, protocol dunder, declared: None when left out, else whether `async def`)."""
    for path in sorted(STUBS.rglob("*.pyi")):
        module = _module_name(path)
        classes: dict[str, dict[str, bool]] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ClassDef):
                continue
            declared: dict[str, bool] = {}
            for base in node.bases:  # a base of the same stub file: what it declares is inherited
                declared.update(classes.get(ast.unparse(base), {}))
            declared.update(
                (item.name, isinstance(item, ast.AsyncFunctionDef))
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
            classes[node.name] = declared
            for dunder in PROTOCOL:
                yield pytest.param(module, node.name, dunder, declared.get(dunder), id=f"{module}:{node.name}.{dunder}")


def test_stub_cases_found() -> None:
    assert len(list(_cases())) >= 60
    assert sum(1 for _ in _protocol_cases()) >= 60


@pytest.mark.parametrize(("module", "cls", "dunder", "is_async"), list(_protocol_cases()))
def test_stub_protocols_match_runtime(module: str, cls: str, dunder: str, is_async: bool | None) -> None:
    """A stub class lists every protocol entry point the runtime class has (the scan reads a left-out one as
    missing), except one that only raises TypeError (aiohttp's ClientSession.__enter__)."""
    obj = getattr(_import(module), cls)
    method = getattr(obj, dunder, None)
    if is_async is not None:
        assert method is not None, f"{module}.{cls}.{dunder} does not exist at runtime"
        assert inspect.iscoroutinefunction(method) is is_async, f"{module}.{cls}.{dunder}: wrong kind"
        return
    if method is None:
        return
    try:
        source = inspect.getsource(method)
    except (OSError, TypeError):
        pytest.fail(f"{module}.{cls}.{dunder} exists at runtime (not from Python source); declare it")
    body = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(body, ast.FunctionDef), f"{module}.{cls}.{dunder} exists at runtime; declare it"
    statements = [s for s in body.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    raises_type_error = (
        len(statements) == 1
        and isinstance(statements[0], ast.Raise)
        and "TypeError" in ast.unparse(statements[0].exc or ast.Constant(None))
    )
    assert raises_type_error, f"{module}.{cls}.{dunder} exists at runtime; declare it"


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


def _overloaded(path: Path, cls: str) -> dict[str, list[str]]:
    """The return annotations of each `@overload`-ed method of ``cls`` in the stub at ``path``, in order."""
    found: dict[str, list[str]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and any(ast.unparse(d) == "overload" for d in item.decorator_list):
                    found.setdefault(item.name, []).append(ast.unparse(item.returns) if item.returns else "")
    return found


def test_aiodocker_stream_overloads_match_runtime() -> None:
    """The fallback stub's overloads on `stream` (the default one a coroutine, `stream=True` declared `Any`)
    hold for the installed aiodocker: called without `stream` or with `stream=False`, each method returns a
    coroutine; with `stream=True`, an async generator (not declared: 0.15 and before returned an awaitable).
    The client is never contacted: nothing below is awaited."""
    aiodocker = _import("aiodocker")
    declared = _overloaded(STUBS / FALLBACK / "aiodocker" / "images.pyi", "DockerImages")
    assert declared == {name: ["Coroutine[Any, Any, Any]", "Any"] for name in ("pull", "push", "build", "import_image")}

    async def calls() -> tuple[set[str], set[str]]:
        docker = aiodocker.Docker(url="http://127.0.0.1:9")  # type: ignore[attr-defined]
        images = docker.images
        plain, streamed = set(), set()
        try:
            for name, made in (
                ("pull", images.pull("x")),
                ("pull", images.pull("x", stream=False)),
                ("push", images.push("x")),
                ("build", images.build(remote="x")),
                ("import_image", images.import_image(b"")),
                ("import_image", images.import_image(b"", False)),
            ):
                assert inspect.iscoroutine(made), f"{name}: {type(made).__name__}"
                made.close()
                plain.add(name)
            for name, made in (
                ("pull", images.pull("x", stream=True)),
                ("push", images.push("x", stream=True)),
                ("build", images.build(remote="x", stream=True)),
                ("import_image", images.import_image(b"", True)),
            ):
                assert inspect.isasyncgen(made), f"{name}: {type(made).__name__}"
                await made.aclose()
                streamed.add(name)
        finally:
            await docker.close()
        return plain, streamed

    plain, streamed = asyncio.run(calls())
    assert plain == streamed == set(declared)
