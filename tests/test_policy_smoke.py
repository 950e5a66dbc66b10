"""`real` policies at run time: awaitguard-smoke fails a test whose double replaces a component the
project keeps real there, naming the policy line; the same double outside the policy's paths passes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestDeprecationWarning")

PYPROJECT = """\
[tool.awaitguard.smoke]
typeguard = false

[[tool.awaitguard.policy.real]]
targets = ["app.websocket_core.*"]
paths = ["tests/integration"]
"""
MANAGER = """\
import asyncio

LIMIT = 3


class Manager:
    async def send(self, message):
        return message


def get_manager():
    return Manager()
"""
ROUTES = """\
from app.websocket_core.manager import get_manager


def render():
    return "page"
"""
TESTS = """\
from unittest import mock
from unittest.mock import AsyncMock, MagicMock, patch

import app.routes
import app.websocket_core.manager as manager_module
from app.websocket_core.manager import Manager


@patch("app.websocket_core.manager.get_manager", autospec=True)
def test_decorator(fake):
    pass


def test_with_asyncmock():
    with patch("app.routes.get_manager", new_callable=AsyncMock):
        pass


def test_object():
    with patch.object(Manager, "send", new=AsyncMock()):
        pass


def test_multiple():
    with patch.multiple(manager_module, get_manager=MagicMock()):
        pass


def test_started():
    patcher = mock.patch("app.websocket_core.manager.get_manager")
    patcher.start()
    patcher.stop()


def test_mocker(mocker):
    mocker.patch("app.websocket_core.manager.Manager.send", autospec=True)


def test_monkeypatch_string(monkeypatch):
    monkeypatch.setattr("app.websocket_core.manager.get_manager", lambda: None)


def test_monkeypatch_object(monkeypatch):
    monkeypatch.setattr(app.routes, "get_manager", lambda: None)


def test_autospec():
    mock.create_autospec(Manager)


def test_spec():
    AsyncMock(spec=Manager)


def test_other_doubles(monkeypatch):
    with patch("app.routes.render", return_value="fake"):
        pass
    monkeypatch.setattr(app.routes, "render", lambda: "fake")


def test_settings_and_libraries_as_the_component_sees_them(monkeypatch):
    with patch("app.websocket_core.manager.asyncio"):
        pass
    with patch("app.websocket_core.manager.LIMIT", 5):
        pass
    monkeypatch.setattr("app.websocket_core.manager.LIMIT", [1])


def test_suppressed():
    with patch("app.routes.get_manager"):  # awaitguard: ignore[AG203]
        pass
"""
FAILING = [
    "test_decorator",
    "test_with_asyncmock",
    "test_object",
    "test_multiple",
    "test_started",
    "test_mocker",
    "test_monkeypatch_string",
    "test_monkeypatch_object",
    "test_autospec",
    "test_spec",
]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml(PYPROJECT)
    files = {
        "app/__init__.py": "",
        "app/websocket_core/__init__.py": "",
        "app/websocket_core/manager.py": MANAGER,
        "app/routes.py": ROUTES,
        "tests/integration/test_ws.py": TESTS,
        "tests/unit/test_ws_unit.py": TESTS,
    }
    for rel, text in files.items():
        path = pytester.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pytester


def test_a_double_over_a_real_component_fails_the_test_naming_the_policy_line(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--awaitguard", "-p", "no:cacheprovider", "-p", "no:randomly", "tests")
    # in tests/unit only the AsyncMock over the sync factory fails, as AG201: no policy applies there
    result.assert_outcomes(passed=15, failed=len(FAILING) + 1)
    failed = sorted(
        line.split(" - ")[0].removeprefix("FAILED ") for line in result.outlines if line.startswith("FAILED ")
    )
    assert failed == sorted(
        [f"tests/integration/test_ws.py::{name}" for name in FAILING]
        + ["tests/unit/test_ws_unit.py::test_with_asyncmock"]
    )
    text = result.stdout.str()
    # counted in the failures section: the short summary may repeat messages (it does when `CI` is set)
    failures = text.split("short test summary info")[0]
    assert failures.count(": AG203 ") == len(FAILING)
    assert failures.count("which `real` in pyproject.toml:5 keeps real in `tests/integration`") == len(FAILING)
    assert failures.count("pyproject.toml:5: note: the `real` policy") == len(FAILING)
    assert "replaces `app.websocket_core.manager.Manager.send`" in text
    assert "replaces `app.websocket_core.manager.get_manager`" in text


def test_without_the_policy_the_same_tests_pass(project: pytest.Pytester) -> None:
    project.makepyprojecttoml("[tool.awaitguard.smoke]\ntypeguard = false\n")
    result = project.runpytest_subprocess("--awaitguard", "-p", "no:cacheprovider", "tests")
    # only the AsyncMock over the sync factory is wrong without the policy (AG201, both folders)
    result.assert_outcomes(passed=24, failed=2)
    assert ": AG203 " not in result.stdout.str()
