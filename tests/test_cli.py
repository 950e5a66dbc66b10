"""`awaitguard scan` end to end: exit codes and the exact stdout/stderr lines, in-process via ``cli.main``.

One test runs ``python -m awaitguard`` as a real subprocess to prove the entry point; every other test calls
``main([...])`` with ``monkeypatch.chdir`` and ``capsys``. Git modes use real repositories (the ``git_repo``
fixture). Exit codes: 0 clean, 1 findings, 2 usage/config/input errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from awaitguard import parsing
from awaitguard.cache import FactsCache
from awaitguard.cli import main
from awaitguard.index import Index
from awaitguard.model import ModuleFacts
from awaitguard.tree import FsTree

if TYPE_CHECKING:
    from conftest import GitRepo

# A plain `def` awaited: the AG101 every test builds on. Line 6, column 12 is `get_manager()`.
BAD = "def get_manager():\n    return 1\n\n\nasync def handler():\n    return await get_manager()\n"
GOOD = "def get_manager():\n    return 1\n\n\nasync def handler():\n    return get_manager()\n"
# A coroutine dropped in a sync function (AG102) next to an AG101.
MIXED = (
    "async def refresh():\n"
    "    return 1\n"
    "\n"
    "\n"
    "def get_manager():\n"
    "    return 1\n"
    "\n"
    "\n"
    "async def handler():\n"
    "    refresh()\n"
    "    return await get_manager()\n"
)
AG101_MESSAGE = (
    "AG101 `await get_manager(...)` awaits the result of `get_manager()`, a plain `def` that returns no "
    "awaitable; at runtime this raises TypeError (\"can't be used in 'await' expression\")"
)
AG101_HELP = "    help: remove `await`, or make `get_manager` an `async def`"


def ag101(path: str, line: int = 6, col: int = 12, def_path: str | None = None, def_line: int = 1) -> list[str]:
    """The three text lines of the AG101 for ``await get_manager()`` at ``path:line:col``."""
    return [
        f"{path}:{line}:{col}: {AG101_MESSAGE}",
        f"    {def_path or path}:{def_line}:1: note: `get_manager` is `def` here",
        AG101_HELP,
    ]


Outcome = tuple[int, list[str], list[str]]


def scan(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """``awaitguard scan argv``: (exit code, stdout lines, stderr lines); never a traceback."""
    code = main(["scan", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines(), captured.err.splitlines()


def project(root: Path, files: Mapping[str, str | bytes], pyproject: str = "") -> Path:
    """Write ``files`` under ``root`` plus a ``pyproject.toml`` that anchors the project root there."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject or "[project]\nname = 'demo'\n", encoding="utf-8")
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root.resolve()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The facts cache under ``tmp_path``, strict AST handling, and no git/pre-commit refs inherited."""
    monkeypatch.setenv("AWAITGUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AWAITGUARD_STRICT_AST", "1")
    for key in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "PRE_COMMIT_SOURCE", "PRE_COMMIT_ORIGIN"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project (not a git repository) with one AG101 in ``app.py``; the cwd is its root."""
    root = project(tmp_path / "proj", {"app.py": BAD})
    monkeypatch.chdir(root)
    return root


# ------------------------------------------------------------------------------------------------ --all, text


def test_all_reports_one_ag101_as_exact_text(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    assert scan(capsys, "--all") == (1, ag101("app.py"), [])


@pytest.mark.parametrize("git", [False, True], ids=["folder", "git"])
def test_all_never_reads_through_a_symlink(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git: bool
) -> None:
    """A link to a file outside the project is not read; a link to one inside is not scanned twice."""
    (tmp_path / "outside.py").write_text(BAD, encoding="utf-8")
    root = project(tmp_path / "proj", {"app.py": BAD})
    (root / "elsewhere.py").symlink_to(tmp_path / "outside.py")
    (root / "alias.py").symlink_to("app.py")
    if git:
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    monkeypatch.chdir(root)
    assert scan(capsys, "--all", "--no-cache") == (1, ag101("app.py"), [])


@pytest.mark.parametrize("git", [False, True], ids=["folder", "git"])
def test_a_symlink_is_not_read_where_open_cannot_refuse_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git: bool
) -> None:
    """Where `open` has no O_NOFOLLOW (Windows), the file tree and the work tree of git look before they open: a
    link to a file outside the project is still never read (emulated here by clearing the flag)."""
    from awaitguard import gitproc, tree

    monkeypatch.setattr(tree, "_NO_FOLLOW", 0)
    monkeypatch.setattr(gitproc, "_NO_FOLLOW", 0)
    (tmp_path / "outside.py").write_text(BAD, encoding="utf-8")
    root = project(tmp_path / "proj", {"app.py": GOOD})
    (root / "elsewhere.py").symlink_to(tmp_path / "outside.py")
    if git:
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    monkeypatch.chdir(root)
    assert scan(capsys, "--all", "--no-cache") == (0, [], [])
    assert scan(capsys, "--no-cache", "elsewhere.py")[0] != 1


def test_a_coroutine_dropped_in_a_plain_def_is_not_told_to_await_there(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`await` inside a plain `def` is a SyntaxError: the help says to make the function async first."""
    source = "async def fetch():\n    return 1\n\n\ndef handler():\n    fetch()\n\n\nfetch()\n"
    monkeypatch.chdir(project(tmp_path / "proj", {"app.py": source}))
    code, out, _ = scan(capsys, "--all")
    assert code == 1
    assert [line for line in out if "help:" in line] == [
        "    help: make `handler` an `async def`, then write `await fetch(...)`, "
        "or keep the task returned by `asyncio.create_task(...)`",
        "    help: move this into an `async def`, then write `await fetch(...)`, "
        "or keep the task returned by `asyncio.create_task(...)`",
    ]


@pytest.mark.parametrize("argv", [["--all", "tests/test_rooms.py"], ["tests/test_rooms.py"]], ids=["all", "named"])
def test_a_file_scanned_alone_knows_the_async_defs_of_the_others(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """python-socketio's `self.bm.close_room(...)` dropped in a test: reported by a whole scan, and by a scan of
    that file alone (`pre-commit run --files`), whose reading of the other files' async defs is from bytes."""
    rooms = "class Rooms:\n    async def vacate_room(self, room):\n        return room\n"
    test = "from app.rooms import Rooms\n\n\ndef test_close():\n    rooms = Rooms()\n    rooms.vacate_room('x')\n"
    monkeypatch.chdir(
        project(tmp_path / "proj", {"app/__init__.py": "", "app/rooms.py": rooms, "tests/test_rooms.py": test})
    )
    code, out, _ = scan(capsys, "--format", "json", *argv)
    found = [(f["path"], f["line"], f["code"]) for f in json.loads("\n".join(out))["findings"]]
    assert (code, found) == (1, [("tests/test_rooms.py", 6, "AG102")])


def test_all_on_a_clean_project_exits_0_with_empty_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "proj", {"app.py": GOOD, "pkg/__init__.py": ""}))
    assert scan(capsys, "--all") == (0, [], [])


# ------------------------------------------------------------------------------------------------ formats


def test_json_format_keeps_its_contract_keys(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    code, out, err = scan(capsys, "--all", "--format", "json")
    assert (code, err) == (1, [])
    report: dict[str, Any] = json.loads("\n".join(out))
    assert report["errors"] == []
    [finding] = report["findings"]
    assert {"path", "line", "col", "code", "message", "related"} <= finding.keys()
    assert (finding["path"], finding["line"], finding["col"], finding["code"]) == ("app.py", 6, 12, "AG101")
    assert finding["message"] == AG101_MESSAGE.removeprefix("AG101 ")
    assert [{k: r[k] for k in ("path", "line", "message")} for r in finding["related"]] == [
        {"path": "app.py", "line": 1, "message": "`get_manager` is `def` here"}
    ]


def test_github_format_is_one_error_annotation(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    message = AG101_MESSAGE.removeprefix("AG101 ")
    fix = AG101_HELP.removeprefix("    help: ")
    assert scan(capsys, "--all", "--format", "github") == (
        1,
        [
            f"::error file=app.py,line=6,col=12,title=AG101 await-not-awaitable::{message} "
            f"(defined at app.py:1) — help: {fix}"
        ],
        [],
    )


def test_sarif_format_parses_with_one_result(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    code, out, err = scan(capsys, "--all", "--format", "sarif")
    assert (code, err) == (1, [])
    log: dict[str, Any] = json.loads("\n".join(out))
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    assert run["invocations"] == [{"executionSuccessful": True}]
    [result] = run["results"]
    assert result["ruleId"] == "AG101"
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "app.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 6, "startColumn": 12},
    }
    assert [r["physicalLocation"]["region"] for r in result["relatedLocations"]] == [{"startLine": 1, "startColumn": 1}]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_unscannable_files_go_to_stderr_in_every_format(
    capsys: pytest.CaptureFixture[str], app: Path, fmt: str
) -> None:
    """As the README says: `path:line: error: message` on stderr and exit 2, whatever the format; the
    machine formats carry the file in their document too."""
    (app / "broken.py").write_bytes(b"async def f(:\n    pass\n")
    version = "{}.{}".format(*sys.version_info[:2])
    problem = f"cannot parse with Python {version}: invalid syntax (is it Python, and no newer than {version}?)"
    code, out, err = scan(capsys, "--all", "--format", fmt)
    assert (code, err) == (2, [f"broken.py:1: error: {problem}"])
    if fmt == "json":
        report: dict[str, Any] = json.loads("\n".join(out))
        assert [(f["path"], f["code"]) for f in report["findings"]] == [("app.py", "AG101")]
        assert report["errors"] == [{"path": "broken.py", "line": 1, "message": problem}]
    elif fmt == "sarif":
        [run] = json.loads("\n".join(out))["runs"]
        assert [r["ruleId"] for r in run["results"]] == ["AG101"]
        [invocation] = run["invocations"]
        assert invocation["executionSuccessful"] is False
        [notification] = invocation["toolConfigurationNotifications"]
        assert (notification["level"], notification["message"]["text"]) == ("error", problem)
        assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"
    elif fmt == "github":
        assert out[-1] == f"::error file=broken.py,line=1::{problem}"
    else:
        assert out == ag101("app.py")


def test_format_from_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "proj", {"app.py": BAD}, '[tool.awaitguard]\nformat = "json"\n'))
    code, out, _ = scan(capsys, "--all")
    assert code == 1
    assert [f["code"] for f in json.loads("\n".join(out))["findings"]] == ["AG101"]


# ------------------------------------------------------------------------------------------------ select / ignore


@pytest.mark.parametrize(
    ("argv", "last_line"),
    [
        (["scan", "--bogus"], "awaitguard scan: error: unrecognized arguments: --bogus"),
        (
            ["scan", "--all", "--base", "HEAD"],
            "awaitguard scan: error: argument --base: not allowed with argument --all",
        ),
        (["scan", "--format", "xml"], "awaitguard scan: error: argument --format: invalid choice: 'xml' "),
        (
            ["frobnicate"],
            "awaitguard: error: unknown command `frobnicate` "
            "(use scan, mypy, smoke, ingest, incidents, parity or policy)",
        ),
    ],
    ids=["unknown-option", "all-and-base", "bad-format", "unknown-command"],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], app: Path, argv: list[str], last_line: str) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1].startswith(last_line)
    assert "Traceback" not in captured.err


def test_scan_help_exits_0(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    assert main(["scan", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: awaitguard scan ")


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        ((), ["AG102", "AG101"]),
        (("--select", "AG102"), ["AG102"]),
        (("--select", "AG101"), ["AG101"]),
        (("--ignore", "AG101"), ["AG102"]),
        (("--select", "AG1"), ["AG102", "AG101"]),  # a prefix selects the family
        (("--select", "AG101,AG102", "--ignore", "AG102"), ["AG101"]),
        (("--select", "AG2"), []),
    ],
)
def test_select_and_ignore_filter_codes(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: tuple[str, ...],
    codes: list[str],
) -> None:
    monkeypatch.chdir(project(tmp_path / "proj", {"jobs.py": MIXED}))
    code, out, err = scan(capsys, "--all", *options)
    assert [line.split(" ")[1] for line in out if not line.startswith(" ")] == codes
    assert (code, err) == (1 if codes else 0, [])


def test_select_and_ignore_from_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "proj", {"jobs.py": MIXED}, '[tool.awaitguard]\nignore = ["AG101"]\n'))
    code, out, _ = scan(capsys, "--all")
    assert (code, [line.split(" ")[1] for line in out if not line.startswith(" ")]) == (1, ["AG102"])


KNOWN_CODES = (
    "(known: AG101, AG102, AG103, AG104, AG105, AG106, AG107, AG108, AG109, AG110, AG111, AG201, AG202, AG203)"
)


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_unknown_code_option_is_a_usage_error(capsys: pytest.CaptureFixture[str], app: Path, option: str) -> None:
    assert scan(capsys, "--all", option, "AG999") == (
        2,
        [],
        [f"awaitguard scan: error: unknown code `AG999` {KNOWN_CODES}"],
    )


@pytest.mark.parametrize(
    ("setting", "what"),
    [
        ('select = ["AG1", "AG999"]', "[tool.awaitguard] `select`"),
        ('ignore = ["AG999"]', "[tool.awaitguard] `ignore`"),
        (
            'per-file-ignores = { "tests/*" = ["AG102", "AG999"] }',
            "[tool.awaitguard] `per-file-ignores` entry `tests/*`",
        ),
    ],
)
def test_unknown_code_in_config_names_the_key_and_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, what: str
) -> None:
    root = project(tmp_path / "proj", {"app.py": BAD}, f"[tool.awaitguard]\n{setting}\n")
    monkeypatch.chdir(root)
    assert scan(capsys, "--all") == (
        2,
        [],
        [f"awaitguard scan: error: {root / 'pyproject.toml'}: {what} names an unknown code `AG999` {KNOWN_CODES}"],
    )


# ------------------------------------------------------------------------------------------------ suppressions


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("# awaitguard: ignore[AG101]", True),
        ("# awaitguard: ignore", True),
        ("# awaitguard: ignore[AG102, AG101]", True),
        ("# noqa: AG101", True),
        ("# noqa: E501, AG101", True),
        ("# noqa", True),
        ("# noqa: E501", False),
        ("# awaitguard: ignore[AG102]", False),
        ("# noqa: AG102", False),
    ],
)
def test_suppression_comments(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    comment: str,
    suppressed: bool,
) -> None:
    monkeypatch.chdir(
        project(tmp_path / "proj", {"app.py": BAD.replace("get_manager()\n", f"get_manager()  {comment}\n")})
    )
    expected: Outcome = (0, [], []) if suppressed else (1, ag101("app.py"), [])
    assert scan(capsys, "--all") == expected


# ------------------------------------------------------------------------------------------------ config


def test_unknown_config_key_names_key_and_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj", {"app.py": BAD}, '[tool.awaitguard]\nselct = ["AG101"]\n')
    monkeypatch.chdir(root)
    code, out, err = scan(capsys, "--all")
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith(
        f"awaitguard scan: error: {root / 'pyproject.toml'}: unknown key `selct` in [tool.awaitguard]"
    )
    assert "select" in err[0].partition("(known: ")[2]


@pytest.mark.parametrize(
    ("table", "known"),
    [
        (
            "tool.awaitguard",
            "cache, exclude, format, ignore, incidents, libraries, mypy, parity, per-file-ignores, policy, python, "
            "select, smoke, src, stub-paths",
        ),
        ("tool.awaitguard.mypy", "args, check_untyped_defs, disable, enable"),
        ("tool.awaitguard.smoke", "debug, loop, markers, packages, tests, typeguard"),
    ],
)
def test_unknown_key_lists_the_keys_of_its_own_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, known: str
) -> None:
    """A subtable's error lists that table's keys only; the top-level one also lists the subtables."""
    root = project(tmp_path / "proj", {"app.py": BAD}, f"[{table}]\nbogus = 1\n")
    monkeypatch.chdir(root)
    assert scan(capsys, "--all") == (
        2,
        [],
        [f"awaitguard scan: error: {root / 'pyproject.toml'}: unknown key `bogus` in [{table}] (known: {known})"],
    )


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ('select = "AG101"', "[tool.awaitguard] `select` must be a list, got str"),
        ("cache = 1", "[tool.awaitguard] `cache` must be a bool, got int"),
        ("exclude = [1]", "[tool.awaitguard] `exclude` must be a list of strings"),
        ('per-file-ignores = {"tests/*" = "AG201"}', "[tool.awaitguard] `per-file-ignores` entry `tests/*` must be"),
        ("mypy = 3", "[tool.awaitguard] `mypy` must be a table"),
        ('src = ["missing"]', "[tool.awaitguard] `src` entry `missing` is not a folder of "),
        ('src = ["../proj"]', "[tool.awaitguard] `src` entry `../proj` must be a folder inside the project"),
        ('src = ["/tmp"]', "[tool.awaitguard] `src` entry `/tmp` must be a folder inside the project"),
        ('src = ["app.py"]', "[tool.awaitguard] `src` entry `app.py` is not a folder of "),
    ],
)
def test_config_value_of_the_wrong_type(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, problem: str
) -> None:
    root = project(tmp_path / "proj", {"app.py": BAD}, f"[tool.awaitguard]\n{setting}\n")
    monkeypatch.chdir(root)
    code, out, err = scan(capsys, "--all")
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith(f"awaitguard scan: error: {root / 'pyproject.toml'}: {problem}")


@pytest.mark.parametrize("spelled", ["lib", "./lib/", "lib/"])
def test_src_entries_are_folders_of_the_project_however_spelled(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelled: str
) -> None:
    """`./lib/` names the root `lib`: the sync `pkg.core.get_manager` awaited from another module is found."""
    files = {
        "lib/pkg/__init__.py": "",
        "lib/pkg/core.py": "def get_manager():\n    return 1\n",
        "lib/pkg/app.py": "from pkg.core import get_manager\n\n\nasync def run():\n    return await get_manager()\n",
    }
    root = project(tmp_path / "proj", files, f'[tool.awaitguard]\nsrc = ["{spelled}"]\n')
    monkeypatch.chdir(root)
    code, out, err = scan(capsys, "--all", "--format", "json")
    assert (code, err) == (1, [])
    found = [(f["path"], f["line"], f["code"]) for f in json.loads("\n".join(out))["findings"]]
    assert found == [("lib/pkg/app.py", 5, "AG101")]


def test_invalid_toml_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj", {"app.py": BAD}, "[tool.awaitguard\nselect = [\n")
    monkeypatch.chdir(root)
    code, out, err = scan(capsys, "--all")
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith(f"awaitguard scan: error: {root / 'pyproject.toml'}: not valid TOML (")


def test_unknown_format_in_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj", {"app.py": BAD}, '[tool.awaitguard]\nformat = "xml"\n')
    monkeypatch.chdir(root)
    assert scan(capsys, "--all") == (
        2,
        [],
        [
            f"awaitguard scan: error: unknown format `xml` in {root / 'pyproject.toml'} "
            "(use text, json, sarif or github)"
        ],
    )


def test_exclude_glob_skips_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"legacy/old.py": BAD, "legacy/deep/older.py": BAD, "app.py": BAD}
    monkeypatch.chdir(project(tmp_path / "proj", files, '[tool.awaitguard]\nexclude = ["legacy/*"]\n'))
    assert scan(capsys, "--all") == (1, ag101("app.py"), [])


PATCHED = (
    "from unittest.mock import AsyncMock, patch\n"
    "\n"
    "\n"
    "def test_charge():\n"
    '    with patch("shop.charge", new=AsyncMock()):\n'
    "        pass\n"
)


def test_per_file_ignores(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"shop.py": "def charge():\n    return 1\n", "tests/test_shop.py": PATCHED, "other/test_shop.py": PATCHED}
    monkeypatch.chdir(
        project(tmp_path / "proj", files, '[tool.awaitguard]\nper-file-ignores = {"tests/*" = ["AG201"]}\n')
    )
    code, out, err = scan(capsys, "--all")
    assert (code, err) == (1, [])
    assert [line.split(" ")[:2] for line in out if not line.startswith(" ")] == [["other/test_shop.py:5:10:", "AG201"]]


@pytest.mark.parametrize("folder", ["src", "code"])
def test_src_roots_resolve_imports(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    files = {
        f"{folder}/pkg/__init__.py": "",
        f"{folder}/pkg/mod.py": "def get_manager():\n    return 1\n",
        "app/main.py": "from pkg.mod import get_manager\n\n\nasync def handler():\n    return await get_manager()\n",
    }
    root = project(tmp_path / "proj", files, f'[tool.awaitguard]\nsrc = ["{folder}"]\n')
    monkeypatch.chdir(root)
    assert scan(capsys, "--all") == (1, ag101("app/main.py", 5, 12, f"{folder}/pkg/mod.py"), [])
    if folder != "src":  # without the setting, `code/` is not an import root: nothing resolves
        (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
        assert scan(capsys, "--all") == (0, [], [])


def test_config_option_reads_another_file(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    (app / "other.toml").write_text('[tool.awaitguard]\nignore = ["AG101"]\n', encoding="utf-8")
    assert scan(capsys, "--all", "--config", "other.toml") == (0, [], [])
    (app / "other.toml").write_text('[tool.awaitguard]\nselct = ["AG101"]\n', encoding="utf-8")
    code, out, err = scan(capsys, "--all", "--config", "other.toml")
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith("awaitguard scan: error: other.toml: unknown key `selct`")


def test_missing_config_file_is_an_error(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    assert scan(capsys, "--all", "--config", "nope.toml") == (
        2,
        [],
        ["awaitguard scan: error: nope.toml: config file not found"],
    )


# ------------------------------------------------------------------------------------------------ bad input

NEWER_SYNTAX = [
    pytest.param(
        "type X = int\n",
        marks=pytest.mark.skipif(sys.version_info >= (3, 12), reason="type statements parse on 3.12+"),
        id="type-alias",
    ),
    pytest.param(
        "def f[T](x: T) -> T:\n    return x\n",
        marks=pytest.mark.skipif(sys.version_info >= (3, 12), reason="PEP 695 generics parse on 3.12+"),
        id="pep695",
    ),
]


def unscannable(capsys: pytest.CaptureFixture[str], root: Path, name: str, content: bytes) -> str:
    """Scan ``root`` (holding one AG101 in app.py) plus ``name``: the AG101 still prints; one error line."""
    (root / name).write_bytes(content)
    code, out, err = scan(capsys, "--all")
    assert (code, out, len(err)) == (2, ag101("app.py"), 1), err
    assert err[0].startswith(f"{name}:")
    return err[0]


def test_syntax_error_is_one_line_and_the_scan_continues(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    line = unscannable(capsys, app, "broken.py", b"async def f(:\n    pass\n")
    version = "{}.{}".format(*sys.version_info[:2])
    assert line == (
        f"broken.py:1: error: cannot parse with Python {version}: invalid syntax "
        f"(is it Python, and no newer than {version}?)"
    )


def test_non_utf8_file_without_cookie(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    line = unscannable(capsys, app, "latin.py", b'async def f():\n    return "caf\xe9"\n')
    assert line.startswith("latin.py:2: error: cannot decode the file: ")


def test_coding_cookie_is_honoured(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    (app / "latin.py").write_bytes(b'# -*- coding: latin-1 -*-\nasync def f():\n    return "caf\xe9"\n')
    assert scan(capsys, "--all") == (1, ag101("app.py"), [])


def test_unknown_coding_cookie(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    line = unscannable(capsys, app, "weird.py", b"# -*- coding: klingon -*-\nasync def f():\n    pass\n")
    assert line == "weird.py: error: cannot decode the file: unknown encoding: klingon"


def test_binary_file_named_py(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    line = unscannable(capsys, app, "blob.py", b"\x7fELF\x00\x01\x02 await async\x00\xff")
    assert line == "blob.py: error: not a Python source file (it holds NUL bytes)"


@pytest.mark.parametrize("source", NEWER_SYNTAX)
def test_syntax_newer_than_the_interpreter(capsys: pytest.CaptureFixture[str], app: Path, source: str) -> None:
    """The error names what needs a newer Python, and one note says which `language_version` to set
    (tests/test_newer.py covers every kind of newer syntax and the git cases)."""
    version = "{}.{}".format(*sys.version_info[:2])
    (app / "newer.py").write_bytes(f"async def g():\n    pass\n{source}".encode())
    code, out, err = scan(capsys, "--all")
    assert (code, out, len(err)) == (2, ag101("app.py"), 2), err
    assert err[0].startswith(f"newer.py:3: error: cannot parse with Python {version}: ")
    assert err[0].endswith(" needs Python 3.12)")
    assert err[1].startswith(
        f"awaitguard scan: note: this code needs Python 3.12 and this hook runs on Python {version}: "
        "add `language_version: python3.12` under `- id: awaitguard-scan` in .pre-commit-config.yaml"
    )


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("(" * 1000 + "1" + ")" * 1000, id="parens"),
        pytest.param("+".join(["1"] * 100_000), id="binop-chain"),
        pytest.param("-" * 100_000 + "1", id="unary-chain"),
        pytest.param("a" + ".b" * 20_000, id="attribute-chain"),
        pytest.param("g" + "()" * 20_000, id="call-chain"),
    ],
)
def test_deeply_nested_expression(capsys: pytest.CaptureFixture[str], app: Path, expression: str) -> None:
    """One error line, never a traceback; CPython 3.10's parser accepts a flat 100k-term chain, then it scans."""
    (app / "deep.py").write_bytes(f"async def g():\n    x = {expression}\n".encode())
    code, out, err = scan(capsys, "--all")
    assert out == ag101("app.py")
    if not err and sys.version_info < (3, 11) and expression.startswith("1+1"):
        assert code == 1
        return
    assert (code, len(err)) == (2, 1), err
    assert err[0].startswith("deep.py")
    assert ": error: " in err[0]


def test_moderately_nested_expression_scans(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    """200 parentheses: within the parser's limit, so the file is scanned, not skipped."""
    nested = "(" * 199 + "await get_manager()" + ")" * 199
    (app / "deep.py").write_text(
        f"from app import get_manager\n\n\nasync def h():\n    return {nested}\n", encoding="utf-8"
    )
    code, out, err = scan(capsys, "--all")
    assert (code, err) == (1, [])
    assert [line.split(" ")[:2] for line in out if not line.startswith(" ")] == [
        ["app.py:6:12:", "AG101"],
        ["deep.py:5:211:", "AG101"],
    ]


def test_parallel_parsing_gives_the_same_output(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    """45 files to parse: enough for the process pool (40+ jobs) when --jobs allows it."""
    for number in range(45):
        (app / f"mod{number:02d}.py").write_text(BAD, encoding="utf-8")
    serial = scan(capsys, "--all", "--no-cache", "--jobs", "1")
    assert scan(capsys, "--all", "--no-cache", "--jobs", "2") == serial
    assert serial[0] == 1
    assert len(serial[1]) == 46 * 3


def test_a_small_scan_parses_half_its_files_in_one_forked_process(
    capsys: pytest.CaptureFixture[str], app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 files, too few for a process per core: from ``SPLIT_BYTES`` of source, half of them are parsed in one
    forked process; the output (findings, and the error of a file that does not parse) is the serial one."""
    monkeypatch.setattr(parsing, "SPLIT_BYTES", 1_000)
    for number in range(12):
        (app / f"mod{number:02d}.py").write_text(BAD + "\n" * 200, encoding="utf-8")
    (app / "broken.py").write_text("async def f(:\n    await g()\n", encoding="utf-8")
    serial = scan(capsys, "--all", "--no-cache", "--jobs", "1")
    assert scan(capsys, "--all", "--no-cache") == serial
    assert scan(capsys, "--all", "--no-cache", "--jobs", "3") == serial
    assert serial[0] == 2
    assert len([line for line in serial[1] if " AG101 " in line]) == 13
    assert any("broken.py:1:" in line for line in serial[2]), serial[2]


@pytest.mark.parametrize("count", [2, 3])
def test_split_gives_the_serial_results_in_the_order_of_the_jobs(count: int) -> None:
    """``split`` itself (this Linux process may fork: one thread): the serial results, in the order of the
    jobs, the facts of every part and a file's error alike; with a cache, the forked parts' facts come
    pickled (to be stored as they are), this process's own as they are."""
    assert parsing.can_split()
    jobs: list[parsing.Job] = [
        (f"m{n}.py", f"m{n}", False, (BAD * (n + 1)).encode() if n != 5 else b"def (:\n") for n in range(10)
    ]
    serial = [parsing.collect_job(job) for job in jobs]
    shared = parsing.split(jobs, False, count)
    assert [path for path, _ in shared] == [path for path, _ in serial]
    assert [result if isinstance(result, tuple) else result.defs for _, result in shared] == [
        result if isinstance(result, tuple) else result.defs for _, result in serial
    ]
    cached = parsing.split(jobs, True, count)
    assert sum(isinstance(result, parsing.Pickled) for _, result in cached) in range(1, 10)


def test_a_running_thread_means_no_fork(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    """A thread running when the files are parsed (a lock it holds would stay held in a forked process): the
    parse goes to the pool of worker processes instead of ``split``, with the same output."""
    for number in range(45):
        (app / f"mod{number:02d}.py").write_text(BAD, encoding="utf-8")
    serial = scan(capsys, "--all", "--no-cache", "--jobs", "1")
    stop = threading.Event()
    waiting = threading.Thread(target=stop.wait)
    waiting.start()
    try:
        assert not parsing.can_split()
        assert scan(capsys, "--all", "--no-cache", "--jobs", "2") == serial
    finally:
        stop.set()
        waiting.join()
    assert parsing.can_split()


# ------------------------------------------------------------------------------------------------ paths


def test_path_outside_the_project(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    (app.parent / "outside.py").write_text(BAD, encoding="utf-8")
    assert scan(capsys, "../outside.py") == (
        2,
        [],
        [f"awaitguard scan: error: ../outside.py: outside the project at {app}"],
    )


def test_missing_path(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    assert scan(capsys, "nope.py") == (2, [], ["awaitguard scan: error: nope.py: no such file or folder"])


def test_folder_path_scans_the_python_files_under_it(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    (app / "pkg" / "sub").mkdir(parents=True)
    (app / "pkg" / "sub" / "mod.py").write_text(BAD, encoding="utf-8")
    (app / "pkg" / "notes.txt").write_text(BAD, encoding="utf-8")
    code, out, err = scan(capsys, "pkg")
    assert (code, out) == (1, ag101("pkg/sub/mod.py"))
    assert err == ["awaitguard scan: note: not a git repository: scanning the given files whole"]


@pytest.mark.parametrize("argument", ["notes.txt", "empty"])
def test_paths_without_python_files_scan_nothing(capsys: pytest.CaptureFixture[str], app: Path, argument: str) -> None:
    """Not the whole project: a path that holds no Python file gives nothing to scan."""
    (app / "notes.txt").write_text(BAD, encoding="utf-8")
    (app / "empty").mkdir()
    note = "awaitguard scan: note: not a git repository: scanning the given files whole"
    assert scan(capsys, argument) == (0, [], [note])


# ------------------------------------------------------------------------------------------------ git modes


@pytest.fixture
def repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """``git_repo`` with a pyproject and a clean ``app.py`` committed; the cwd is its root."""
    git_repo.write("pyproject.toml", "[project]\nname = 'demo'\n")
    git_repo.write("app.py", GOOD)
    git_repo.commit("clean")
    monkeypatch.chdir(git_repo.root)
    return git_repo


def test_git_nothing_staged_no_paths_is_clean(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.write("legacy.py", BAD)
    repo.commit("legacy")
    assert scan(capsys) == (0, [], [])


def test_git_a_commit_without_python_reads_neither_project_nor_environment(
    capsys: pytest.CaptureFixture[str], repo: GitRepo
) -> None:
    """A docs-only commit (the hook always runs): nothing to judge, so the project is not indexed and the
    configured interpreter is not asked for its packages; the first Python change is."""
    repo.write("pyproject.toml", '[tool.awaitguard]\npython = "nowhere/bin/python"\n')
    repo.write("legacy.py", BAD)
    repo.commit("legacy, and an interpreter that is not there")
    repo.write("README.md", "docs\n")
    repo.git("add", "README.md")
    assert scan(capsys, "--stats") == (0, [], ["awaitguard scan: 0 files in scope, 0 parsed, 0 findings"])
    repo.write("app.py", GOOD + "\n")
    repo.git("add", "app.py")
    code, out, err = scan(capsys)
    assert (code, out, len(err)) == (2, [], 1) and "nowhere/bin/python" in err[0]


def test_git_staged_ag101_on_an_added_line_is_reported(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.write("app.py", BAD)
    repo.git("add", "app.py")
    assert scan(capsys) == (1, ag101("app.py"), [])


def test_git_legacy_finding_in_an_unchanged_file_only_with_all(
    capsys: pytest.CaptureFixture[str], repo: GitRepo
) -> None:
    repo.write("legacy.py", BAD)
    repo.commit("legacy")
    repo.write("other.py", "VALUE = 1\n")
    repo.write("app.py", GOOD + "\n\nasync def more():\n    return 2\n")
    repo.git("add", "-A")
    assert scan(capsys) == (0, [], [])
    assert scan(capsys, "--all") == (1, ag101("legacy.py"), [])


def test_git_legacy_line_in_a_changed_file_is_not_reported(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.write("app.py", BAD)
    repo.commit("legacy")
    repo.write("app.py", BAD + "\n\nVALUE = 1\n")
    repo.git("add", "app.py")
    assert scan(capsys) == (0, [], [])


def test_git_awaits_left_in_a_def_made_sync_are_reported(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    # only the `def` line changes, yet every `await` left in the body is now a SyntaxError (AG106); an
    # unchanged function beside it keeps its unchanged lines out of scope
    body = (
        "import asyncio\n\n\n{kw}def load():\n    await asyncio.sleep(0)\n    return 1\n\n\ndef other():\n    x = 1\n"
    )
    repo.write("svc.py", body.format(kw="async ") + "    await asyncio.sleep(0)\n")
    repo.commit("svc")
    repo.write("svc.py", body.format(kw="") + "    await asyncio.sleep(0)\n")
    repo.git("add", "svc.py")
    code, out, err = scan(capsys)
    assert (code, err) == (1, [])
    assert [line.split(" ")[:2] for line in out if not line.startswith(" ")] == [["svc.py:5:5:", "AG106"]]


def test_git_unstaged_edit_is_not_scanned(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.write("app.py", BAD)  # in the work tree only
    assert scan(capsys) == (0, [], [])
    repo.write("new.py", "VALUE = 1\n")
    repo.git("add", "new.py")  # something staged, the bad edit still is not
    assert scan(capsys) == (0, [], [])


def test_git_staged_content_is_scanned_not_the_work_tree(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.write("app.py", BAD)
    repo.git("add", "app.py")
    repo.write("app.py", GOOD)  # fixed in the work tree, but the commit would record the staged bytes
    assert scan(capsys) == (1, ag101("app.py"), [])


def test_git_pure_rename_of_a_legacy_file_is_not_reported(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.write("legacy.py", BAD)
    repo.commit("legacy")
    repo.git("mv", "legacy.py", "renamed.py")
    assert scan(capsys) == (0, [], [])


def test_git_path_with_spaces_and_non_ascii(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.write("src/my app/été.py", BAD)
    repo.git("add", "-A")
    assert scan(capsys) == (1, ag101("src/my app/été.py"), [])


@pytest.mark.parametrize(
    ("after", "change", "help_line"),
    [
        (
            "def get_manager_async():\n    return 1\n",
            "renamed to `get_manager_async`",
            "    help: import `get_manager_async` instead",
        ),
        ("VALUE = 1\n", "deleted", "    help: remove the import, or restore `get_manager` in `factory`"),
    ],
)
def test_git_removed_definition_ag105_exact_text(
    capsys: pytest.CaptureFixture[str], repo: GitRepo, after: str, change: str, help_line: str
) -> None:
    """AG105's message and help quote each name once: a rename's new name is not wrapped in backticks twice."""
    repo.write("factory.py", "def get_manager():\n    return 1\n")
    repo.write("routes.py", "from factory import get_manager\n\nMANAGER = get_manager\n")
    repo.commit("factory")
    repo.write("factory.py", after)
    repo.git("add", "factory.py")
    assert scan(capsys) == (
        1,
        [
            f"routes.py:1:1: AG105 `get_manager` is no longer defined in `factory` ({change}); this line still "
            "imports it and raises ImportError",
            "    factory.py:1:1: note: `get_manager` was defined here before this change",
            help_line,
        ],
        [],
    )


def test_git_base_range_mode(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    base = repo.sha()
    repo.write("app.py", BAD)
    repo.commit("bad")
    repo.write("other.py", "VALUE = 1\n")
    repo.commit("more")
    assert scan(capsys) == (0, [], [])  # nothing staged
    assert scan(capsys, "--base", base) == (1, ag101("app.py"), [])
    assert scan(capsys, "--base", "HEAD~1") == (0, [], [])


def test_git_base_unknown_revision(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    assert scan(capsys, "--base", "no-such-branch") == (
        2,
        [],
        ["awaitguard scan: error: unknown revision `no-such-branch`"],
    )


def test_git_pre_commit_refs_select_range_mode(
    capsys: pytest.CaptureFixture[str], repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = repo.sha()
    repo.write("app.py", BAD)
    head = repo.commit("bad")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", head)
    assert scan(capsys) == (1, ag101("app.py"), [])
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", head)
    assert scan(capsys) == (0, [], [])


def test_git_files_passed_with_nothing_staged_are_scanned_whole(
    capsys: pytest.CaptureFixture[str], repo: GitRepo
) -> None:
    """`pre-commit run --all-files` passes every file and stages nothing."""
    repo.write("legacy.py", BAD)
    repo.write("other.py", BAD)
    repo.commit("legacy")
    assert scan(capsys, "legacy.py", "app.py") == (1, ag101("legacy.py"), [])


def test_git_detached_head(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.git("checkout", "-q", "--detach")
    repo.write("app.py", BAD)
    repo.git("add", "app.py")
    assert scan(capsys) == (1, ag101("app.py"), [])


def test_git_first_commit_without_head(
    capsys: pytest.CaptureFixture[str], git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.write("app.py", BAD)
    git_repo.git("add", "app.py")
    monkeypatch.chdir(git_repo.root)
    assert scan(capsys) == (1, ag101("app.py"), [])


def test_not_a_git_repository_scans_given_files_with_a_note(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    (app / "other.py").write_text(BAD, encoding="utf-8")
    assert scan(capsys, "app.py") == (
        1,
        ag101("app.py"),
        ["awaitguard scan: note: not a git repository: scanning the given files whole"],
    )


def test_the_scans_note_is_no_error_in_the_machine_formats(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    """One mechanism for notes: the same stderr line in every format, JSON's "notices", SARIF's execution
    notification of level note, GitHub's ::notice::; the exit code stays 1 (findings), not 2."""
    note = "not a git repository: scanning the given files whole"
    stderr = [f"awaitguard scan: note: {note}"]
    code, out, err = scan(capsys, "app.py", "--format", "json")
    report: dict[str, Any] = json.loads("\n".join(out))
    assert (code, err, report["errors"], report["notices"]) == (1, stderr, [], [{"message": note}])
    code, out, err = scan(capsys, "app.py", "--format", "sarif")
    [invocation] = json.loads("\n".join(out))["runs"][0]["invocations"]
    assert (code, err) == (1, stderr)
    assert invocation == {
        "executionSuccessful": True,
        "toolExecutionNotifications": [{"level": "note", "message": {"text": note}}],
    }
    code, out, err = scan(capsys, "app.py", "--format", "github")
    assert (code, err, out[-1]) == (1, stderr, f"::notice::{note}")
    assert out[0].startswith("::error file=app.py,line=6,col=12,")


def test_git_missing_from_path_still_scans_given_files(
    capsys: pytest.CaptureFixture[str], repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("app.py", BAD)
    repo.write("other.py", BAD)
    repo.git("add", "-A")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # sys.executable is absolute; git is gone
    assert scan(capsys, "app.py") == (
        1,
        ag101("app.py"),
        ["awaitguard scan: note: git not found: scanning the given files whole"],
    )


# ------------------------------------------------------------------------------------------------ side effects, cache


def test_scan_never_writes_to_the_tree_or_index(
    capsys: pytest.CaptureFixture[str], repo: GitRepo, tmp_path: Path
) -> None:
    repo.write("app.py", BAD)
    repo.write("pkg/__init__.py", "")
    repo.write("pkg/mod.py", BAD)
    repo.git("add", "app.py")  # pkg/ stays untracked
    index = repo.root / ".git" / "index"
    status = repo.git("status", "--porcelain", "--ignored", "--untracked-files=all")
    stamp = index.stat().st_mtime_ns
    before = sorted(p.relative_to(repo.root).as_posix() for p in repo.root.rglob("*") if ".git" not in p.parts)
    for argv, expected in (((), 1), (("--all",), 1), (("app.py",), 1), (("--base", "HEAD"), 0)):
        code, _, err = scan(capsys, *argv)
        assert (code, err) == (expected, []), argv
    assert index.stat().st_mtime_ns == stamp  # checked before `git status`, which may refresh the index
    assert repo.git("status", "--porcelain", "--ignored", "--untracked-files=all") == status
    after = sorted(p.relative_to(repo.root).as_posix() for p in repo.root.rglob("*") if ".git" not in p.parts)
    assert after == before
    assert any((tmp_path / "cache").rglob("*")), "the cache went somewhere other than AWAITGUARD_CACHE_DIR"


@pytest.mark.parametrize(
    ("files", "stats"),
    [
        ({"app.py": BAD}, "awaitguard scan: 1 file in scope, 1 parsed, 1 finding"),
        ({"app.py": BAD, "more.py": BAD}, "awaitguard scan: 2 files in scope, 2 parsed, 2 findings"),
        ({"app.py": GOOD}, "awaitguard scan: 1 file in scope, 1 parsed, 0 findings"),
    ],
)
def test_stats_line_counts_in_words(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    stats: str,
) -> None:
    monkeypatch.chdir(project(tmp_path / "proj", files))
    code, _, err = scan(capsys, "--all", "--stats", "--no-cache")
    assert (code, err) == (int(BAD in files.values()), [stats])


def cached_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    files = {"app.py": BAD, "jobs.py": MIXED, "pkg/__init__.py": "", "pkg/mod.py": GOOD}
    root = project(tmp_path / "proj", files, "[tool.awaitguard]\ncache = true\n")
    monkeypatch.chdir(root)
    return root


def test_cache_goes_to_the_cache_dir_and_a_warm_run_is_identical(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_project(tmp_path, monkeypatch)
    cold = scan(capsys, "--all", "--stats")
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert entries
    warm = scan(capsys, "--all", "--stats")
    assert cold[:2] == warm[:2]
    assert cold[0] == 1
    assert warm[2][-1].endswith(" 0 parsed, 3 findings"), warm[2]  # every file came from the cache
    assert scan(capsys, "--all", "--no-cache")[:2] == cold[:2]


# `Lock.release` is a plain def in typeshed's asyncio/locks.pyi: known only from typeshed's facts
AWAITS_TYPESHED = "import asyncio\n\n\nasync def main(lock: asyncio.Lock):\n    await lock.release()\n"


def test_no_cache_keeps_only_the_stubs_facts_which_the_next_run_reads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--no-cache` keeps no facts of the project; typeshed's and the shipped stubs' facts, keyed by their
    bytes, are kept in `stubs/` of the cache folder, and the next run (cache or not) reads them there."""
    monkeypatch.chdir(project(tmp_path / "proj", {"app.py": AWAITS_TYPESHED}))
    cold = scan(capsys, "--all", "--no-cache")
    assert cold[0] == 1
    assert [line.split()[1] for line in cold[1] if line.startswith("app.py")] == ["AG101"]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["stubs"]
    (database,) = (tmp_path / "cache" / "stubs").glob("*/facts.sqlite")
    assert scan(capsys, "--all", "--no-cache") == cold
    assert scan(capsys, "--all") == cold
    # read, not parsed again: with every kept module's facts emptied, `Lock` is unknown and nothing is said
    empty = pickle.dumps(ModuleFacts("<typeshed>/x.pyi", "x", False, is_stub_file=True))
    with contextlib.closing(sqlite3.connect(database)) as conn, conn:
        assert conn.execute("UPDATE facts SET value = ?", (empty,)).rowcount > 0
    assert scan(capsys, "--all", "--no-cache")[:2] == (0, [])


def test_cache_false_keeps_no_facts_at_all(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "proj", {"app.py": AWAITS_TYPESHED}, "[tool.awaitguard]\ncache = false\n"))
    assert scan(capsys, "--all")[0] == 1
    assert not (tmp_path / "cache").exists()


def test_a_kept_stub_is_parsed_again_once_its_bytes_change(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    (stubs / "lib").mkdir(parents=True)
    (tmp_path / "proj").mkdir()
    init = stubs / "lib" / "__init__.pyi"
    kept = FactsCache(tmp_path / "kept")

    def fetch() -> tuple[list[bool], int]:
        facts = Index(FsTree(tmp_path / "proj"), stubs=stubs, stub_cache=kept).facts("lib")
        assert facts is not None
        with contextlib.closing(sqlite3.connect(kept.path)) as conn:
            (rows,) = conn.execute("SELECT count(*) FROM facts").fetchone()
        return [d.is_async for d in facts.defs if d.qualname == "fetch"], rows

    init.write_text("async def fetch() -> int: ...\n")
    assert fetch() == ([True], 1)
    assert fetch() == ([True], 1)
    init.write_text("def fetch() -> int: ...\n")
    assert fetch() == ([False], 2)
    kept.close()


def test_parallel_parsing_fills_the_cache_for_a_warm_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """48 files to parse and two processes with the cache on: this process pickles its own facts while the
    worker parses, the worker's come pickled; a warm run parses nothing and reports the same."""
    root = cached_project(tmp_path, monkeypatch)
    for number in range(45):
        (root / f"mod{number:02d}.py").write_text(BAD, encoding="utf-8")
    cold = scan(capsys, "--all", "--stats", "--jobs", "2")
    warm = scan(capsys, "--all", "--stats", "--jobs", "2")
    assert cold[:2] == warm[:2] == scan(capsys, "--all", "--no-cache", "--jobs", "1")[:2]
    assert cold[0] == 1
    assert cold[2][-1].endswith(" 48 parsed, 48 findings"), cold[2]
    assert warm[2][-1].endswith(" 0 parsed, 48 findings"), warm[2]


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_parsing_that_starts_while_files_are_read_gives_the_serial_answer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: bool
) -> None:
    """700 files read 256 at a time with two processes and a thread running (so no ``split``: the pool of
    worker processes): the worker starts on the first slices (a
    chunk per slice here), the chunks it has not begun when the reading ends are shared out again.
    The forked judge starts on their awaits while this process parses sync files that import an
    async def (AG102; the fork parses some of them, lent) and one that patches it (AG202), judged
    here once the names are known."""
    monkeypatch.setattr(parsing, "EARLY_BYTES", 1_000)
    root = cached_project(tmp_path, monkeypatch)
    for number in range(700):
        source = BAD if number % 7 == 0 else GOOD.replace("def ", f"def f{number}_")
        (root / f"mod{number:03d}.py").write_text(source, encoding="utf-8")
    for number in range(41):  # enough sync files for the forked judge to parse some of them too
        name = "sync_user.py" if number == 0 else f"sync_user{number:02d}.py"
        (root / name).write_text("from mod000 import handler\n\n\ndef run():\n    handler()\n")
    (root / "caller.py").write_text("from mod000 import handler\n\n\nasync def go():\n    await handler()\n")
    (root / "test_mod.py").write_text("from unittest.mock import Mock, patch\n\npatch('mod000.handler', Mock())\n")
    flags = () if cache else ("--no-cache",)
    serial = scan(capsys, "--all", "--stats", "--no-cache", "--jobs", "1")
    stop = threading.Event()
    waiting = threading.Thread(target=stop.wait)  # a thread running: no `split`, the pool's path
    waiting.start()
    try:
        shared = scan(capsys, "--all", "--stats", "--jobs", "2", *flags)
    finally:
        stop.set()
        waiting.join()
    assert shared[:2] == serial[:2]
    assert serial[0] == 1
    assert shared[2][-1].endswith(" 746 parsed, 145 findings"), shared[2]
    assert {"sync_user.py:5:5: AG102", "test_mod.py:3:1: AG202"} <= {" ".join(line.split()[:2]) for line in shared[1]}


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"garbage", id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x80\x05K", id="truncated-pickle"),
        pytest.param(b"\x80\x09garbage", id="future-pickle-protocol"),
    ],
)
def test_corrupt_cache_entries_give_the_same_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, garbage: bytes
) -> None:
    cached_project(tmp_path, monkeypatch)
    cold = scan(capsys, "--all")
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert entries
    for entry in entries:
        entry.write_bytes(garbage)
    assert scan(capsys, "--all") == cold


def test_a_cache_file_that_is_no_database_is_closed_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite opens any file and refuses it at the first statement: that connection is closed then,
    not left open for the rest of a long-lived process (3.13 warns about it when collected)."""
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recording(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        opened.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", recording)
    cache = FactsCache(tmp_path)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(b"garbage" * 1000)
    assert cache.get("key") is None
    assert len(opened) == 1
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")


def test_corrupt_values_inside_the_cache_database_give_the_same_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_project(tmp_path, monkeypatch)
    cold = scan(capsys, "--all")
    (database,) = (tmp_path / "cache").glob("*/facts.sqlite")
    with contextlib.closing(sqlite3.connect(database)) as conn, conn:
        assert conn.execute("UPDATE facts SET value = ?", (b"\x80\x05garbage",)).rowcount > 0
    assert scan(capsys, "--all") == cold


def test_parallel_runs_share_the_cache(tmp_path: Path) -> None:
    """Four real processes filling one cache at once: each gives the answer, and so does a warm run."""
    files = {f"mod{i}.py": BAD.replace("get_manager", f"get_manager{i}") for i in range(12)}
    root = project(tmp_path / "proj", files, "[tool.awaitguard]\ncache = true\n")
    env = {**os.environ, "AWAITGUARD_CACHE_DIR": str(tmp_path / "cache"), "PYTHONIOENCODING": "utf-8"}
    argv = [sys.executable, "-m", "awaitguard", "scan", "--all", "--format", "json"]
    procs = [subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE) for _ in range(4)]
    outputs = {proc.communicate()[0] for proc in procs}
    assert [proc.returncode for proc in procs] == [1, 1, 1, 1]
    assert len(outputs) == 1
    warm = subprocess.run(argv, cwd=root, env=env, capture_output=True, check=False)
    assert {warm.stdout} == outputs
    assert len(json.loads(warm.stdout)["findings"]) == 12


# ------------------------------------------------------------------------------------------------ entry point


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", {"app.py": BAD})
    env = {**os.environ, "AWAITGUARD_CACHE_DIR": str(tmp_path / "cache"), "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "scan", "--all"], cwd=root, env=env, capture_output=True, check=False
    )
    assert (proc.returncode, proc.stdout.decode().splitlines(), proc.stderr.decode()) == (1, ag101("app.py"), "")


def test_mypy_without_mypy_says_what_to_install(tmp_path: Path) -> None:
    """awaitguard does not depend on mypy: without it, `awaitguard mypy` names both ways to get it.

    mypy is hidden by an empty package of that name ahead of it on ``PYTHONPATH``."""
    (tmp_path / "shadow" / "mypy").mkdir(parents=True)
    (tmp_path / "shadow" / "mypy" / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("x = 1\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow")}
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "mypy", "a.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("awaitguard mypy: error: needs mypy (")
    assert 'install `awaitguard[mypy]`, or under pre-commit list "mypy>=2.0,<2.5" first' in proc.stderr


def test_files_that_cannot_be_parsed_are_listed_in_path_order(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    # worker processes finish out of order: a long file failing at its end beside short ones
    for n in range(120):
        body = "async def f():\n    return 1\n" * (2_000 if n % 7 == 0 else 1)
        (app / f"m{n:03}.py").write_text(body + "async def g(:\n")
    code, out, _ = scan(capsys, "--all", "--jobs", "2", "--no-cache", "--format", "json")
    paths = [error["path"] for error in json.loads("\n".join(out))["errors"]]
    assert code == 2
    assert paths == sorted(paths) and len(paths) == 120


@pytest.mark.parametrize("pre_commit", ["", "1"])
def test_smoke_without_pytest_says_what_to_install(tmp_path: Path, pre_commit: str) -> None:
    """Like the mypy hook's: one line, prefixed as every line of the smoke hook (pytest hidden by a package of
    its name that fails to import, ahead of it on ``PYTHONPATH``)."""
    (tmp_path / "shadow" / "pytest").mkdir(parents=True)
    (tmp_path / "shadow" / "pytest" / "__init__.py").write_text("raise ImportError('no pytest here')\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow"), "PRE_COMMIT": pre_commit}
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "smoke"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr.count("\n")) == (2, "", 1), proc.stderr
    assert proc.stderr.startswith("awaitguard smoke: error: needs pytest and typeguard ")
    assert ("additional_dependencies" in proc.stderr) == bool(pre_commit)
