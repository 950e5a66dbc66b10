"""Entry point for ``plugins = awaitguard.mypy`` in a mypy configuration."""

from awaitguard.mypy_plugin import plugin as plugin

__all__ = ["plugin"]
