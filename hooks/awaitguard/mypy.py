"""Entry point for ``plugins = awaitguard.mypy`` in a mypy configuration (``awaitguard mypy`` loads
``awaitguard.mypy:data_plugin``)."""

from awaitguard.mypy_plugin import data_plugin as data_plugin
from awaitguard.mypy_plugin import plugin as plugin

__all__ = ["data_plugin", "plugin"]
