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
    return set(_json_messages(stdout))


def _json_messages(stdout: str) -> dict[Key, str]:
    return {(f["path"], f["line"], f["code"]): f["message"] for f in json.loads(stdout)["findings"]}


_QUALNAME = re.compile(r"coroutine '([\w.]+)' was never awaited")


def qualnames(messages: dict[Key, str]) -> dict[Key, str]:
    """The coroutine's name each AG102 message quotes from CPython's warning."""
    out: dict[Key, str] = {}
    for key, message in messages.items():
        found = _QUALNAME.search(message)
        if found:
            out[key] = found.group(1)
    return out


EXPECTED_QUALNAMES = {
    ("shop/svc.py", 20, "AG102"): "Gateway.refresh",
    ("tests/test_dropped.py", 7, "AG102"): "fetch_user",
    ("tests/test_dropped.py", 11, "AG102"): "Gateway.refresh",
}


def test_fixture_has_cases_of_each_shared_code() -> None:
    assert {code for _, _, code in expected()} == {"AG102", "AG201", "AG202"}


def test_scan(project: Path) -> None:
    proc = _run(project, "-m", "awaitguard", "scan", "--all", "--no-cache", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert _json_findings(proc.stdout) == expected()
    assert qualnames(_json_messages(proc.stdout)) == EXPECTED_QUALNAMES


def test_mypy_hook(project: Path) -> None:
    proc = _run(project, "-m", "awaitguard", "mypy", "--format", "json", "--cache-dir", ".mypy_cache", "shop", "tests")
    assert proc.returncode == 1, proc.stderr
    assert _json_findings(proc.stdout) == expected()
    assert qualnames(_json_messages(proc.stdout)) == EXPECTED_QUALNAMES


def test_smoke_run(project: Path) -> None:
    proc = _run(project, "-m", "pytest", "--awaitguard", "-p", "no:cacheprovider", "-q", "-rN", "tests")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # the tests fail only through awaitguard's findings, never by their own assertions
    assert "AssertionError" not in proc.stdout, proc.stdout
    found: dict[Key, str] = {}
    for line in proc.stdout.splitlines():
        match = _SMOKE_LINE.match(line)
        if match:
            found[(match.group(1), int(match.group(2)), match.group(3))] = line
    assert set(found) == expected(), proc.stdout
    assert qualnames(found) == EXPECTED_QUALNAMES
