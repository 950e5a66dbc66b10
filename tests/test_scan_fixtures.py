"""Every fixture through every rule: the exact set of (path, line, code), no more, no less."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

import awaitguard
from awaitguard.cli import main
from awaitguard.report import fix, message
from awaitguard.rules import CODES
from conftest import GitRepo
from harness import (
    Worded,
    expectations,
    tree_expectations,
    tree_worded_expectations,
    unworded,
    worded_expectations,
)

FIXTURES = Path(__file__).parent / "fixtures" / "scan"
ENTRIES = sorted(p for p in FIXTURES.iterdir() if p.suffix == ".py" or (p.is_dir() and p.name[:2] == "AG"))
SINGLE = [p for p in ENTRIES if p.is_file()]
PROJECTS = [p for p in ENTRIES if p.is_dir() and not (p / "before").is_dir()]
CHANGES = [p for p in ENTRIES if p.is_dir() and (p / "before").is_dir()]


def found_set(findings: list[awaitguard.Finding]) -> set[tuple[str, int, str]]:
    return {(f.path, f.line, f.code) for f in findings}


def worded_set(findings: list[awaitguard.Finding]) -> set[Worded]:
    """Each finding's message and, after a newline, its help: an expected part may be in either."""
    return {(f.path, f.line, f.code, f"{message(f)}\n{fix(f)}") for f in findings}


@pytest.mark.parametrize("fixture", SINGLE, ids=lambda p: p.name)
def test_single_module_fixture(fixture: Path, tmp_path: Path) -> None:
    shutil.copy(fixture, tmp_path / fixture.name)
    expected = expectations(fixture, fixture.name)
    findings = awaitguard.scan(tmp_path)
    assert found_set(findings) == expected
    assert unworded(worded_expectations(fixture, fixture.name), worded_set(findings)) == []


@pytest.mark.parametrize("fixture", PROJECTS, ids=lambda p: p.name)
def test_project_fixture(fixture: Path, tmp_path: Path) -> None:
    root = tmp_path / fixture.name
    shutil.copytree(fixture, root)
    findings = awaitguard.scan(root)
    assert found_set(findings) == tree_expectations(fixture)
    assert unworded(tree_worded_expectations(fixture), worded_set(findings)) == []


@pytest.mark.parametrize("fixture", CHANGES, ids=lambda p: p.name)
def test_change_fixture(
    fixture: Path, git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`before/` is committed, `after/` is staged; the default (diff-scoped) scan must report the expects."""
    shutil.copytree(fixture / "before", git_repo.root, dirs_exist_ok=True)
    git_repo.commit("before")
    for path in list(git_repo.root.rglob("*.py")):
        path.unlink()
    shutil.copytree(fixture / "after", git_repo.root, dirs_exist_ok=True)
    git_repo.git("add", "-A")
    monkeypatch.chdir(git_repo.root)
    code = main(["scan", "--format", "json", "--no-cache"])
    report = json.loads(capsys.readouterr().out or '{"findings": []}')
    found = {(f["path"], f["line"], f["code"]) for f in report["findings"]}
    expected = tree_expectations(fixture / "after")
    assert found == expected
    worded = {(f["path"], f["line"], f["code"], f["message"]) for f in report["findings"]}
    assert unworded(tree_worded_expectations(fixture / "after"), worded) == []
    assert code == (1 if expected else 0)
    assert all(f["impact"] for f in report["findings"] if not f["path"].startswith("changed"))


def test_a_worded_expectation_is_read_and_can_fail(tmp_path: Path) -> None:
    """`# expect: CODE "part of its message"`: the code counts as any expect, and the part must be in the
    message of the finding on that line."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def load():\n    return 1\n\n\nasync def main():\n"
        '    await load()  # expect: AG101 "a plain `def` that returns no awaitable", AG102\n'
    )
    assert expectations(sample, "sample.py") == {("sample.py", 6, "AG101"), ("sample.py", 6, "AG102")}
    worded = worded_expectations(sample, "sample.py")
    assert worded == {("sample.py", 6, "AG101", "a plain `def` that returns no awaitable")}
    findings = worded_set(awaitguard.scan(tmp_path))
    assert unworded(worded, findings) == []
    wrong = {("sample.py", 6, "AG101", "an async generator"), ("sample.py", 7, "AG101", "a plain `def`")}
    assert unworded(wrong, findings) == sorted(wrong)
    sample.write_text('x = 1  # expect: AG101 "unclosed\n')
    with pytest.raises(AssertionError, match="malformed expect comment"):
        expectations(sample, "sample.py")


def test_every_fixture_compiles() -> None:
    for path in FIXTURES.rglob("*.py"):
        if path.name.startswith(("AG106", "AG107")) and not path.stem.endswith("_ok"):  # rejected by the compiler
            rejected = (
                r"'(await|async for|async with)' outside|asynchronous comprehension outside"
                r"|'yield from' inside async function|'return' with value in async generator"
            )
            with pytest.raises(SyntaxError, match=rejected):
                compile(path.read_bytes(), str(path), "exec")
            continue
        compile(path.read_bytes(), str(path), "exec")


def test_positive_fixtures_expect_and_twins_do_not() -> None:
    for entry in ENTRIES:
        stem = entry.stem if entry.is_file() else entry.name
        if entry.is_file():
            expected = expectations(entry, entry.name)
        elif (entry / "after").is_dir():
            expected = tree_expectations(entry / "after")
        else:
            expected = tree_expectations(entry)
        if stem.endswith("_ok"):
            assert not expected, f"{entry.name}: a must-not-report twin has expect comments"
        else:
            assert expected, f"{entry.name}: a positive fixture without expect comments"
            twin = FIXTURES / (f"{stem}_ok.py" if entry.is_file() else f"{stem}_ok")
            assert twin.exists(), f"{entry.name}: no must-not-report twin {twin.name}"


def test_fixture_names_cover_every_code() -> None:
    named = {entry.name[:5] for entry in ENTRIES}
    assert named == set(CODES)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="`type X = ...` needs Python 3.12")
def test_type_statement_aliases_are_read(tmp_path: Path) -> None:
    """`type X = ...` (PEP 695) declares what `X: TypeAlias = ...` does; written here, not as a fixture file,
    because older Pythons cannot parse it. A `TypeAliasType` of an awaitable stays silent."""
    (tmp_path / "m.py").write_text(
        "from typing import Any, Awaitable, Optional\n"
        "class Conn:\n"
        "    def close(self) -> None: ...\n"
        "type Maybe = Optional[Conn]\n"
        "type Pair = Conn | int\n"
        "type Later = Awaitable[int] | int\n"
        "type Whatever = Any\n"
        "class Pool:\n"
        "    conn: object\n"
        "    def get(self) -> Maybe: return self.conn  # type: ignore\n"
        "    def pair(self) -> Pair: return self.conn  # type: ignore\n"
        "    def later(self) -> Later: return 1\n"
        "    def whatever(self) -> Whatever: return 1\n"
        "async def use(pool: Pool, conn: Maybe) -> None:\n"
        "    await pool.get()\n"
        "    await pool.pair()\n"
        "    await conn.close()\n"
        "    await pool.later()\n"
        "    await pool.whatever()\n"
    )
    found = {(f.line, f.code) for f in awaitguard.scan(tmp_path)}
    assert found == {(15, "AG101"), (16, "AG101"), (17, "AG101")}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11 (typeshed's as well)")
def test_a_task_group_handed_a_plain_value_is_ag111(tmp_path: Path) -> None:
    """Written here, not as a fixture file: before 3.11 `asyncio.TaskGroup` is not there, and nothing is said."""
    (tmp_path / "m.py").write_text(
        "import asyncio\n"
        "def plain() -> int:\n"
        "    return 1\n"
        "async def work() -> int:\n"
        "    return 1\n"
        "async def main() -> None:\n"
        "    async with asyncio.TaskGroup() as tg:\n"
        "        tg.create_task(plain())\n"
        "        tg.create_task(work())\n"
    )
    found = awaitguard.scan(tmp_path)
    assert [(f.line, f.code) for f in found] == [(8, "AG111")]
    assert (found[0].kwargs["api"], found[0].kwargs["callee"]) == ("tg.create_task", "plain")
