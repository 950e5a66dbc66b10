"""typeguard's import hook over the project packages, refused when they were imported too early."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import pytest


def too_early(packages: Iterable[str]) -> list[str]:
    """Packages (or any of their submodules) already imported, so they cannot be instrumented."""
    modules = list(sys.modules)
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


def install(config: pytest.Config, packages: tuple[str, ...]) -> None:
    """Install the hook for the rest of the run; ``config.add_cleanup`` uninstalls it."""
    if not packages:
        return
    early = too_early(packages)
    if early:
        raise pytest.UsageError(
            f"awaitguard: cannot instrument {', '.join(early)} with typeguard: already imported before "
            "the smoke plugin started (by a -p plugin, a plugin's import or sitecustomize); import it "
            "from tests or conftest.py instead, or set [tool.awaitguard.smoke] typeguard = false"
        )
    try:  # imported here: a pytest run without the smoke checks must not need typeguard
        from typeguard import install_import_hook
    except ImportError as exc:
        raise pytest.UsageError(
            f"awaitguard: typeguard is needed to instrument {', '.join(packages)} ({exc}); install "
            "`awaitguard[smoke]`, or set [tool.awaitguard.smoke] typeguard = false"
        ) from None
    manager = install_import_hook(packages)
    config.add_cleanup(manager.uninstall)
