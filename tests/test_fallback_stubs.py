"""The fallback stubs (``stubs/scan-only``) speak for a library only when the project's interpreter does not
have it: an installed package is read from its own source, whatever its version."""

from __future__ import annotations

from pathlib import Path

import awaitguard
from test_libraries import PACKAGES, build_wheel, make_venv, pip_install

SOURCE = """\
from dbus_next.aio import MessageBus


async def stop(bus: MessageBus):
    await bus.disconnect()
    bus.call(None)
"""


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "bus.py").write_text(SOURCE, encoding="utf-8")
    return root


def test_fallback_stub_speaks_when_the_library_is_absent(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    (root / "pyproject.toml").write_text("[tool.awaitguard]\nlibraries = false\n", encoding="utf-8")
    found = {(f.path, f.line, f.code) for f in awaitguard.scan(root)}
    assert found == {("bus.py", 5, "AG101"), ("bus.py", 6, "AG102")}


def test_installed_package_wins_over_the_fallback_stub(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    wheel = build_wheel(PACKAGES / "dbus_next_fork", "dbus-next", "9.0", tmp_path)
    pip_install(make_venv(root / ".venv"), wheel)
    found = {(f.path, f.line, f.code) for f in awaitguard.scan(root)}
    assert found == {("bus.py", 6, "AG102")}  # its disconnect is async: the stub's `def` is not used
