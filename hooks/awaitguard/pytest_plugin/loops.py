"""Event loop settings for async tests: asyncio debug mode and a production loop (uvloop)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Mapping

import pytest

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def resolve_factory(spec: str) -> LoopFactory | None:
    """``"asyncio"`` -> None (pytest-asyncio's default), ``"uvloop"``, or ``"module:callable"``."""
    if spec in ("", "asyncio"):
        return None
    module_name, _, attr = ("uvloop:new_event_loop" if spec == "uvloop" else spec).partition(":")
    if not attr:
        raise pytest.UsageError(f'awaitguard: loop = "{spec}" is not "asyncio", "uvloop" or "module:factory"')
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise pytest.UsageError(
            f'awaitguard: loop = "{spec}" needs `{module_name}`, which is not installed in this '
            f'environment ({exc.msg}); install it or set loop = "asyncio"'
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise pytest.UsageError(f'awaitguard: loop = "{spec}": `{module_name}.{attr}` is not a callable')
    return factory  # type: ignore[no-any-return]


class LoopFactories:
    """Implements pytest-asyncio's ``pytest_asyncio_loop_factories`` hook (pytest-asyncio >= 1.3)."""

    def __init__(self, name: str, factory: LoopFactory) -> None:
        self.name = name
        self.factory = factory

    def pytest_asyncio_loop_factories(self, config: pytest.Config, item: pytest.Item) -> Mapping[str, LoopFactory]:
        return {self.name: self.factory}


def configure(config: pytest.Config, loop: str) -> None:
    """Turn on asyncio debug mode for pytest-asyncio's loops, and register the loop factory."""
    if config.pluginmanager.has_plugin("asyncio") and getattr(config.option, "asyncio_debug", None) is None:
        config.option.asyncio_debug = True
    factory = resolve_factory(loop)
    if factory is None:
        return
    if not hasattr(config.hook, "pytest_asyncio_loop_factories"):
        raise pytest.UsageError(
            f'awaitguard: loop = "{loop}" needs pytest-asyncio >= 1.3 (its pytest_asyncio_loop_factories hook)'
        )
    config.pluginmanager.register(LoopFactories(loop.rpartition(":")[2] or loop, factory), "awaitguard-loop")
