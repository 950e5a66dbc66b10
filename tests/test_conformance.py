"""The three hooks agree: one project (tests/fixtures/conformance/) where their scopes overlap, one
expected set of (path, line, code), asserted for the scan, the mypy hook and the smoke run."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "conformance"
Key = tuple[str, int, str]
# a smoke failure's first line: `path:line: CODE message`
_SMOKE_LINE = re.compile(r"^(?:E\s+)?(?:Failed: )?([\w./-]+\.py):(\d+): (AG\d{3}) ")


def expected() -> set[Key]:
    out: set[Key] = set()
    for path in sorted(FIXTURE.rglob("*.py")):
        for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
            if token.type == tokenize.COMMENT and token.string.startswith("# expect:"):
                for code in token.string.removeprefix("# expect:").split(","):
                    out.add((path.relative_to(FIXTURE).as_posix(), token.start[0], code.strip()))
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("conformance")
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True, check=False)


def _json_findings(stdout: str) -> set[Key]:
    return {(f["path"], f["line"], f["code"]) for f in json.loads(stdout)["findings"]}


def test_fixture_has_cases_of_each_shared_code() -> None:
    assert {code for _, _, code in expected()} == {"AG102", "AG201", "AG202"}


def test_scan(project: Path) -> None:
    proc = _run(project, "-m", "awaitguard", "scan", "--all", "--no-cache", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert _json_findings(proc.stdout) == expected()


def test_mypy_hook(project: Path) -> None:
    proc = _run(project, "-m", "awaitguard", "mypy", "--format", "json", "--cache-dir", ".mypy_cache", "shop", "tests")
    assert proc.returncode == 1, proc.stderr
    assert _json_findings(proc.stdout) == expected()


def test_smoke_run(project: Path) -> None:
    proc = _run(project, "-m", "pytest", "--awaitguard", "-p", "no:cacheprovider", "-q", "-rN", "tests")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found: set[Key] = set()
    for line in proc.stdout.splitlines():
        match = _SMOKE_LINE.match(line)
        if match:
            found.add((match.group(1), int(match.group(2)), match.group(3)))
    assert found == expected(), proc.stdout
