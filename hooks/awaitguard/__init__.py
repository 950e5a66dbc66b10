"""awaitguard: stop async/await misuse before it reaches production."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.4.0"

if TYPE_CHECKING:
    from awaitguard.findings import Finding as Finding


def scan(root: str | Path, paths: Sequence[str] | None = None, *, cache: bool = False) -> list[Finding]:
    """Scan the project at ``root`` (every Python file, or ``paths`` relative to it) from source alone."""
    from awaitguard import config, engine
    from awaitguard.rules import CODES
    from awaitguard.tree import FsTree

    root = Path(root)
    settings = config.load(root, codes=CODES)
    index = engine.make_index(settings, FsTree(root, exclude=settings.exclude), cache, workers=1)
    try:
        result = engine.scan_tree(index, paths, settings.exclude, settings.policy)
    finally:
        engine.release(index)
    return engine.finish(result.findings, settings, (), ())


def __getattr__(name: str) -> object:
    if name == "Finding":
        from awaitguard.findings import Finding

        return Finding
    if name == "CODES":
        from awaitguard.rules import CODES

        return CODES
    raise AttributeError(name)


__all__ = ["CODES", "Finding", "__version__", "scan"]
