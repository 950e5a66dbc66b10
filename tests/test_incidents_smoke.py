"""Incidents become test requirements: `awaitguard smoke --all` fails while no test executes an incident's
line, lists the tests that do once one is added, and accepts an incident marked `accepted`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from awaitguard.cli import main
from awaitguard.incidents import store
from awaitguard.pytest_plugin import hook

HANDLER = """\
def get_manager():
    return object()


async def handle(user):
    manager = await get_manager()
    return manager


def helper():
    return 1
"""
LOG = {
    "timestamp": "2026-12-05T09:00:00Z",
    "message": "Traceback (most recent call last):\n"
    '  File "/app/shop/handler.py", line 6, in handle\n'
    "    manager = await get_manager()\n"
    "TypeError: object object can't be used in 'await' expression\n",
}
REACHING = """\
import asyncio

import pytest

from shop.handler import handle


def test_handle_fails_as_production_did():
    with pytest.raises(TypeError, match="can't be used in 'await' expression"):
        asyncio.run(handle("ann"))
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "shop-project"
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(
        '[tool.awaitguard.smoke]\ntests = ["tests"]\ntypeguard = false\n'
        '[tool.pytest.ini_options]\npythonpath = ["."]\n',
        encoding="utf-8",
    )
    (root / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (root / "shop" / "handler.py").write_text(HANDLER, encoding="utf-8")
    (root / "tests" / "test_helper.py").write_text(
        "from shop.handler import helper\n\n\ndef test_helper():\n    assert helper() == 1\n", encoding="utf-8"
    )
    log = tmp_path / "prod.jsonl"
    log.write_text(json.dumps(LOG) + "\n", encoding="utf-8")
    monkeypatch.chdir(root)
    assert main(["ingest", str(log)]) == 0
    capfd.readouterr()
    return root


def test_smoke_requires_a_test_reaching_each_incident(shop: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (incident,) = store.load(shop / store.DEFAULT_FILE)
    assert hook.main(["--all", "-p", "no:cacheprovider"]) == 1
    out, _ = capfd.readouterr()
    assert "1 passed" in out
    assert (
        f"{incident.id} shop/handler.py:6: no test reaches shop/handler.py:6 where production raised "
        "TypeError: object object can't be used in 'await' expression at `get_manager`: add one\n"
    ) in out

    # a run of selected tests lists the incidents but does not require them
    assert hook.main(["tests/test_helper.py", "-p", "no:cacheprovider"]) == 0
    out, _ = capfd.readouterr()
    assert "add one (not required in this run)" in out

    (shop / "tests" / "test_handle.py").write_text(REACHING, encoding="utf-8")
    assert hook.main(["--all", "-p", "no:cacheprovider"]) == 0
    out, _ = capfd.readouterr()
    assert "2 passed" in out
    assert (
        f"{incident.id} shop/handler.py:6: reached by tests/test_handle.py::test_handle_fails_as_production_did\n"
    ) in out


def test_an_accepted_incident_needs_no_test(shop: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = shop / store.DEFAULT_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("accepted = false", "accepted = true"), encoding="utf-8")
    assert hook.main(["--all", "-p", "no:cacheprovider"]) == 0
    out, _ = capfd.readouterr()
    assert "shop/handler.py:6: no test reaches it (accepted)" in out
