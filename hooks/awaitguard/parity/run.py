"""One parity run: read both sides, compare, return the findings (unsorted)."""

from __future__ import annotations

from pathlib import Path

from awaitguard.findings import Finding, dedupe
from awaitguard.parity import checks
from awaitguard.parity.code import scan_code
from awaitguard.parity.production import production
from awaitguard.parity.pytestcfg import pytest_config
from awaitguard.parity.testside import local_python, tested_versions


def test_runner_files(root: Path) -> list[str]:
    """Files that say how the tests are run: CI workflows, tox, nox, Makefile."""
    found = [
        name for name in ("tox.ini", "noxfile.py", "Makefile", "pytest.ini", "setup.cfg") if (root / name).is_file()
    ]
    workflows = root / ".github" / "workflows"
    if workflows.is_dir():
        found.extend(
            f".github/workflows/{p.name}" for p in sorted(workflows.iterdir()) if p.suffix in (".yml", ".yaml")
        )
    return found


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
    findings.extend(checks.warnings_hidden(cfg, code))
    findings.extend(checks.debug_mode(prod, code, root, runners, cfg))
    findings.extend(checks.unmarked_async_tests(code, strict))
    return dedupe(findings)
