"""One line at the end of a smoke run whose tests failed on a distribution that is not installed.

pre-commit's remote form of the hook builds an environment from `additional_dependencies` and puts
the project's source roots on ``PYTHONPATH``: the project imports, but ``importlib.metadata`` knows
no distribution of it, so a test (or the package's own ``__init__``) reading its version fails with
a bare ``PackageNotFoundError``. The failure is the environment's, not the test's: say so, and what
to do (docs/smoke-hook.md), instead of leaving a traceback that reads like a bug in the project.
"""

from __future__ import annotations

import re

import pytest

_NOT_FOUND = "PackageNotFoundError"
# importlib.metadata's wording: "No package metadata was found for yourpkg"
_NAMED = re.compile(r"No package metadata was found for ([A-Za-z0-9_.\-]+)")


class MissingMetadata:
    """Counts the failed tests (and collections) whose failure is a ``PackageNotFoundError``."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.names: set[str] = set()

    def _record(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if not report.failed or report.longrepr is None:
            return
        text = str(report.longrepr)
        if _NOT_FOUND not in text:
            return
        self.failed.append(report.nodeid)
        self.names.update(_NAMED.findall(text))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._record(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._record(report)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.failed:
            return
        count = len(set(self.failed))
        names = ", ".join(f"`{name}`" for name in sorted(self.names)) or "a distribution"
        terminalreporter.write_line(
            f"awaitguard: {count} failure{'s are' if count != 1 else ' is'} PackageNotFoundError: {names} "
            "is not installed where pytest runs (pre-commit's remote form installs only `additional_dependencies` "
            "and puts your source roots on PYTHONPATH); use the `repo: local` form where the project is "
            "installed, or deselect those tests (docs/smoke-hook.md)"
        )
