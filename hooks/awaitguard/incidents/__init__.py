"""Production incidents: async failures read from logs (``awaitguard ingest``), recorded in a committed
file, and re-checked by every ``awaitguard scan`` until fixed. See docs/incidents.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from awaitguard.config import Config

DEFAULT_FILE = ".awaitguard/incidents.toml"


def incidents_file(root: Path, config: Config) -> Path:
    """The project's incidents file (``[tool.awaitguard.incidents] file``). Here, not in ``recheck``: a
    scan asks whether it exists before importing the re-check (most projects record no incidents)."""
    return root / str(config.incidents.get("file", DEFAULT_FILE))
