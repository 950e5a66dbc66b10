"""One parity run: read both sides, compare, return the findings (unsorted)."""

from __future__ import annotations

from pathlib import Path

from awaitguard.findings import Finding, dedupe
from awaitguard.parity import checks
from awaitguard.parity.code import scan_code
from awaitguard.parity.production import production
from awaitguard.parity.pytestcfg import pytest_config
from awaitguard.parity.testside import local_python, tested_versions, workflow_files


def test_runner_files(root: Path) -> list[str]:
    """Files that say how the tests are run: CI workflows, tox, nox, Makefile."""
    names = ("tox.ini", "noxfile.py", "Makefile", "pytest.ini", "setup.cfg")
    return [name for name in names if (root / name).is_file()] + workflow_files(root)


def run(
    root: Path, configured: list[str], python: str | None, running: tuple[int, int] | None, exclude: tuple[str, ...]
) -> list[Finding]:
    prod = production(root, configured)
    pyproject = checks.load_pyproject(root)
    cfg = pytest_config(root)
    runners = test_runner_files(root)
    strict = checks.strict_asyncio(root, cfg, runners)
    code = scan_code(root, exclude, strict)
    findings: list[Finding] = []
    if prod.python:
        tested = tested_versions(root, local_python(root, python, running))
        findings.extend(checks.python_versions(prod, tested, pyproject))
    on_uvloop = checks.tests_use_uvloop(root, code, cfg, runners)
    findings.extend(checks.event_loop(root, prod, code, pyproject, on_uvloop))
    findings.extend(checks.warnings_hidden(cfg, code, root, runners))
    findings.extend(checks.debug_mode(prod, code, root, runners, cfg))
    findings.extend(checks.unmarked_async_tests(code, strict))
    return dedupe(findings)
