"""The smoke hook's test files are pytest's: ``python_files`` read where pytest reads it, checked against pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from awaitguard.pytest_plugin import testnames

FILES = ("test_a.py", "b_test.py", "check_c.py", "smoke.py", "helpers.py", "sub/check_d.py", "sub/test_e.py")
CONFIGS = {
    "default": {},
    "pytest.ini": {"pytest.ini": "[pytest]\npython_files = check_*.py smoke.py\n"},
    "pytest.ini without a section": {"pytest.ini": "", "tox.ini": "[pytest]\npython_files = smoke.py\n"},
    "tox.ini": {"tox.ini": "[tox]\n\n[pytest]\npython_files =\n    check_*.py\n    b_test.py\n"},
    "setup.cfg": {"setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\npython_files = smoke.py\n"},
    "pyproject ini_options list": {"pyproject.toml": '[tool.pytest.ini_options]\npython_files = ["check_*.py"]\n'},
    "pyproject ini_options string": {"pyproject.toml": '[tool.pytest.ini_options]\npython_files = "smoke.py test_*"\n'},
    "pyproject before tox.ini": {
        "pyproject.toml": '[tool.pytest.ini_options]\npython_files = ["smoke.py"]\n',
        "tox.ini": "[pytest]\npython_files = check_*.py\n",
    },
    "pyproject without pytest, then setup.cfg": {
        "pyproject.toml": "[project]\nname = 'x'\n",
        "setup.cfg": "[tool:pytest]\npython_files = check_*.py\n",
    },
    "a path pattern": {"pytest.ini": "[pytest]\npython_files = sub/check_*.py test_*.py\n"},
    "pytest's configuration without python_files": {"tox.ini": "[pytest]\naddopts = --strict-markers\n"},
}


def collected(folder: Path) -> set[str]:
    """The files pytest itself collects under ``folder`` (with its own configuration discovery)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:awaitguard", "t"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr
    return {line.split("::", 1)[0].removeprefix("t/") for line in proc.stdout.splitlines() if "::" in line}


@pytest.mark.parametrize("name", CONFIGS)
def test_the_files_named_are_the_files_pytest_collects(tmp_path: Path, name: str) -> None:
    for rel, text in CONFIGS[name].items():
        (tmp_path / rel).write_text(text)
    for rel in FILES:
        path = tmp_path / "t" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("def test_one() -> None:\n    pass\n")
    names = testnames.find(tmp_path / "t")
    ours = {rel for rel in FILES if names.matches(tmp_path / "t" / rel)}
    assert ours == collected(tmp_path)
    assert ours  # every configuration here names some test file: the comparison is never of two empty sets
    assert (names.source is None) == (names.patterns == testnames.DEFAULT)


def test_describe_names_the_patterns_and_their_file(tmp_path: Path) -> None:
    assert testnames.find(tmp_path).describe(tmp_path) == "test_*.py or *_test.py, pytest's default python_files"
    (tmp_path / "tox.ini").write_text("[pytest]\npython_files = check_*.py smoke.py\n")
    (tmp_path / "tests").mkdir()
    found = testnames.find(tmp_path / "tests")
    assert found.describe(tmp_path) == "check_*.py or smoke.py, from python_files in tox.ini"


def test_a_file_pytest_cannot_parse_leaves_the_default(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options\npython_files = 'x.py'\n")
    assert testnames.find(tmp_path) == testnames.PytestFiles()


def test_nothing_above_the_repository_is_read(tmp_path: Path) -> None:
    """A configuration above the repository's root (pytest would read it) is outside what the hook may read."""
    (tmp_path / "pytest.ini").write_text("[pytest]\npython_files = check_*.py\n")
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    assert testnames.find(repo / "tests", repo) == testnames.PytestFiles()
    assert testnames.find(repo / "tests").patterns == ("check_*.py",)  # unbounded, it is what pytest would see
    (repo / "tox.ini").write_text("[pytest]\npython_files = smoke.py\n")
    assert testnames.find(repo / "tests", repo).patterns == ("smoke.py",)  # the root itself is read


FOLDERS_FILES = ("a/check_x.py", "a/smoke_a.py", "b/smoke_b.py", "b/check_y.py")


def test_several_test_paths_take_the_configuration_of_their_common_folder(tmp_path: Path) -> None:
    """pytest given two test folders reads the configuration above both, not the one inside the first."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "pytest.ini").write_text("[pytest]\npython_files = check_*.py\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "tox.ini").write_text("[pytest]\npython_files = smoke_*.py\n")
    for rel in FOLDERS_FILES:
        (tmp_path / rel).write_text("def test_one() -> None:\n    pass\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:awaitguard",
            "a",
            "b",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    pytests = {line.split("::", 1)[0] for line in proc.stdout.splitlines() if "::" in line}
    assert pytests == {"a/smoke_a.py", "b/smoke_b.py"}, proc.stdout + proc.stderr
    names = testnames.find(tmp_path, tmp_path)
    assert {rel for rel in FOLDERS_FILES if names.matches(tmp_path / rel)} == pytests
