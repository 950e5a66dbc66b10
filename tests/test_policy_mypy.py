"""The policy fixtures through `awaitguard mypy` (a real mypy build): the same findings as the scan,
as mypy errors with the rules' own codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import tree_expectations

FIXTURES = Path(__file__).parent / "fixtures" / "scan"


@pytest.mark.parametrize("name", ["AG108", "AG108_ok", "AG109", "AG109_ok", "AG203", "AG203_ok"])
def test_policy_fixture_through_the_mypy_hook(name: str, tmp_path: Path) -> None:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "awaitguard",
            "mypy",
            "--format",
            "json",
            "--cache-dir",
            str(tmp_path / "cache"),
            *files,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    found = {(f["path"], f["line"], f["code"]) for f in json.loads(proc.stdout)["findings"]}
    expected = tree_expectations(FIXTURES / name)
    assert found == expected, proc.stdout
    assert proc.returncode == (1 if expected else 0), proc.stderr
