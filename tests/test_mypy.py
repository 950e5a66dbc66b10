"""awaitguard-mypy against real mypy: exact (path, line, code) sets from ``# expect:`` comments."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awaitguard.mypy_plugin.carried import MARK, encode
from awaitguard.mypy_plugin.hook import SERIAL_NOTICE
from awaitguard.rules import CODES

CASES = Path(__file__).parent / "mypy_cases"
PACKAGES = ("awaits", "doubles", "dynamic", "protocols")
Key = tuple[str, int, str]


def expectations(root: Path) -> set[Key]:
    expected: set[Key] = set()
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and token.string.startswith("# expect:"):
                for code in token.string.removeprefix("# expect:").split(","):
                    code = code.strip()
                    if code not in CODES and code != "AG106":
                        raise AssertionError(f"{path}:{token.start[0]}: unknown code {code!r}")
                    expected.add((path.relative_to(root).as_posix(), token.start[0], code))
    return expected


def run(cwd: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "awaitguard.mypy_plugin.hook",
            "--format",
            "json",
            "--show-traceback",
            "--cache-dir",
            str(cwd / ".mypy_cache"),
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    document = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, document, proc.stderr


def scan_json(cwd: Path, *args: str) -> dict[str, Any]:
    """`awaitguard scan --no-cache --format json` with ``args`` in ``cwd``: its document (findings expected)."""
    scan = subprocess.run(
        [sys.executable, "-m", "awaitguard", "scan", "--no-cache", "--format", "json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert scan.returncode == 1, scan.stderr
    result: dict[str, Any] = json.loads(scan.stdout)
    return result


def found(document: dict[str, Any]) -> set[Key]:
    return {(f["path"], f["line"], f["code"]) for f in document.get("findings", [])}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cases")
    shutil.copytree(CASES, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def cold(cases: Path) -> tuple[int, dict[str, Any], str]:
    return run(cases, *PACKAGES)


def test_fixtures_parse_and_are_paired() -> None:
    expected = expectations(CASES)
    for path in CASES.rglob("*.py"):
        ast.parse(path.read_bytes(), filename=str(path))  # AG106 cases compile only as far as ast
        stem = path.stem.removeprefix("test_")
        if stem.startswith("AG") and not stem.endswith("_ok"):
            assert any(p == path.relative_to(CASES).as_posix() for p, _, _ in expected), path
            assert any(path.parent.glob("*_ok.py")), f"{path.parent} has no must-not-report twin"
        if stem.endswith("_ok"):
            assert not any(p == path.relative_to(CASES).as_posix() for p, _, _ in expected), path


def test_exact_findings(cold: tuple[int, dict[str, Any], str]) -> None:
    code, document, stderr = cold
    assert stderr == ""
    expected = expectations(CASES)
    if "AG106" not in CODES:
        expected = {key for key in expected if key[2] != "AG106"}
    assert len(expected) >= 25
    assert found(document) == expected
    assert code == 1


def test_ag106_registered() -> None:
    if "AG106" not in CODES:
        pytest.skip("AG106 (await-outside-async) is not in rules.CODES yet; the runner drops it until then")
    assert CODES["AG106"].slug == "await-outside-async"


def test_findings_carry_fix_and_definition(cold: tuple[int, dict[str, Any], str]) -> None:
    by_key = {(f["path"], f["line"], f["code"]): f for f in cold[1]["findings"]}
    manager = by_key[("awaits/AG101.py", 6, "AG101")]
    assert "get_manager_async" in manager["fix"]
    assert [(r["path"], r["line"]) for r in manager["related"]] == [("awaits/svc.py", 4), ("awaits/svc.py", 8)]
    double = by_key[("doubles/test_AG201.py", 17, "AG201")]
    assert double["args"]["target"] == "doubles.svc.charge"
    assert double["related"][0]["path"] == "doubles/svc.py"


GOLDEN = Path(__file__).parent / "golden" / "mypy_cases.txt"


def worded(document: dict[str, Any]) -> str:
    """Each finding's whole wording: message, fix and notes, in the text format's layout."""
    lines = []
    for f in document.get("findings", []):
        lines.append(f"{f['path']}:{f['line']}:{f['col']}: {f['code']} {f['message']}")
        lines += [f"    {r['path']}:{r['line']}:{r['col']}: note: {r['message']}" for r in f["related"]]
        lines.append(f"    help: {f['fix']}")
    return "\n".join(lines) + "\n"


def test_every_message_is_the_golden(cold: tuple[int, dict[str, Any], str]) -> None:
    """The exact words of every finding (the plugin's and those translated from mypy's errors), as the
    rule families give them. After an intended change: ``AWAITGUARD_UPDATE_GOLDEN=1`` and read the diff."""
    actual = worded(cold[1])
    if os.environ.get("AWAITGUARD_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(actual, encoding="utf-8", newline="\n")
    assert actual == GOLDEN.read_text(encoding="utf-8")


def test_warm_run_reports_the_same(cases: Path, cold: tuple[int, dict[str, Any], str]) -> None:
    code, document, stderr = run(cases, *PACKAGES)
    assert (code, stderr) == (1, "")
    assert found(document) == found(cold[1])


FLIP_SVC_ASYNC = "async def charge(amount):\n    return amount > 0\n\n\ndef helper():\n    return charge(1)\n"
FLIP_SVC_SYNC = "def charge(amount):\n    return amount > 0\n\n\ndef helper():\n    return {}\n"
FLIP_TEST = textwrap.dedent(
    """\
    from unittest.mock import AsyncMock, patch

    from shop.svc import helper


    async def test_charge():
        with patch("shop.svc.charge", new_callable=AsyncMock):
            await helper()
    """
)


def test_flip_between_runs_with_one_cache(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    svc = tmp_path / "shop" / "svc.py"
    (tmp_path / "test_shop.py").write_text(FLIP_TEST)
    svc.write_text(FLIP_SVC_ASYNC)
    assert run(tmp_path, "test_shop.py", "shop")[:1] == (0,)
    svc.write_text(FLIP_SVC_SYNC)  # charge turns sync and helper returns a dict: both must surface
    code, document, stderr = run(tmp_path, "test_shop.py", "shop")
    assert (code, stderr) == (1, "")
    assert found(document) == {("test_shop.py", 7, "AG201"), ("test_shop.py", 8, "AG101")}
    svc.write_text(FLIP_SVC_ASYNC)
    code, document, stderr = run(tmp_path, "test_shop.py", "shop")
    assert (code, found(document), stderr) == (0, set(), "")


def test_plain_mypy_with_plugin_codes_and_ignores(tmp_path: Path) -> None:
    (tmp_path / "mypy.ini").write_text("[mypy]\nplugins = awaitguard.mypy\ncheck_untyped_defs = True\n")
    (tmp_path / "mod.py").write_text(
        "def plain():\n    return 1\n\n\nasync def main():\n    await plain()\n"
        "    await plain()  # type: ignore[await-not-awaitable]\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "-O",
            "json",
            "--show-traceback",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "mod.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stderr == ""
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [(r["line"], r["code"]) for r in records] == [(6, "await-not-awaitable")]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", "[tool.awaitguard.mypy]\ncheck_untyped_def = true\n"),
        ("mypy.ini", "[mypy]\n\n[awaitguard.mypy]\ncheck_untyped_def = true\n"),
    ],
)
def test_unknown_config_key_is_an_error(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    (tmp_path / "mod.py").write_text("x = 1\n")
    code, document, stderr = run(tmp_path, "mod.py")
    assert code == 2 and document == {}
    assert len(stderr.strip().splitlines()) == 1
    assert "unknown key `check_untyped_def`" in stderr and name in stderr
    assert stderr.rstrip().endswith("(known: args, check_untyped_defs, disable, enable)")  # not mypy, smoke
    assert stderr.startswith("awaitguard mypy: error: ")


def test_errors_share_one_prefix(tmp_path: Path) -> None:
    """The hook's errors read `awaitguard mypy: error: ...`, the plugin's under plain mypy `awaitguard.mypy: error:`."""
    (tmp_path / "mod.py").write_text("x = 1\n")
    code, document, stderr = run(tmp_path, "--no-such-flag", "mod.py")
    assert (code, document, stderr) == (2, {}, "awaitguard mypy: error: mypy: unrecognized arguments: --no-such-flag\n")
    (tmp_path / "mypy.ini").write_text("[mypy]\nplugins = awaitguard.mypy\n\n[awaitguard.mypy]\nbogus = 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / ".mypy_cache"), "mod.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2,
        "",
        "awaitguard.mypy: error: mypy.ini: [awaitguard.mypy]: unknown key `bogus` "
        "(known: args, check_untyped_defs, disable, enable)\n",
    )


def test_a_plugin_of_the_users_config_that_does_not_import_says_what_to_add(tmp_path: Path) -> None:
    """mypy's own reason is the line (it used to be swallowed as `mypy: compile error`)."""
    (tmp_path / "pyproject.toml").write_text('[tool.mypy]\nplugins = ["no_such_package_ag.mypy"]\n')
    (tmp_path / "mod.py").write_text("x = 1\n")
    code, document, stderr = run(tmp_path, "mod.py")
    assert (code, document) == (2, {})
    assert stderr == (
        'awaitguard mypy: error: mypy: pyproject.toml:1: Error importing plugin "no_such_package_ag.mypy": '
        "No module named 'no_such_package_ag'; list the plugin's package in the hook's additional_dependencies "
        "(pre-commit installs only those)\n"
    )


def test_two_files_of_one_module_name_are_left_out_and_the_rest_is_checked(tmp_path: Path) -> None:
    """pre-commit passes every file (`--all-files`: examples included), and mypy's `exclude` does not apply to
    named files: python-socketio's examples/client/{sync,async}/fiddle_client.py stopped the whole run."""
    for folder in ("examples/bot_one", "examples/bot_two"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "handlers.py").write_text("x = 1\n")
    (tmp_path / "app.py").write_text(
        "def get() -> int:\n    return 1\n\n\nasync def main() -> None:\n    await get()\n"
    )
    code, document, stderr = run(tmp_path, "examples/bot_one/handlers.py", "examples/bot_two/handlers.py", "app.py")
    assert code == 1
    assert [(f["path"], f["line"], f["code"]) for f in document["findings"]] == [("app.py", 6, "AG101")]
    assert stderr == (
        "awaitguard mypy: note: examples/bot_one/handlers.py, examples/bot_two/handlers.py: all module `handlers` to "
        "mypy (no package holds them): not checked; `files: ^yourpackage/` in .pre-commit-config.yaml keeps the "
        "hook to your code\n"
    )


def test_a_package_below_the_project_root_is_one_module_to_mypy(tmp_path: Path) -> None:
    """python-socketio's examples/server/wsgi/django_socketio/socketio_app: mypy names the package `socketio_app`
    (no `__init__.py` above it), the scan `examples....socketio_app`; the plugin's extra dependencies of
    `from . import views` used the scan's name, and mypy stopped at "Source file found twice"."""
    app = tmp_path / "ex" / "site" / "app1"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "urls.py").write_text("from . import views\n")
    (app / "views.py").write_text("def get() -> int:\n    return 1\n\n\nasync def main() -> None:\n    await get()\n")
    code, document, stderr = run(tmp_path, "ex/site/app1/urls.py", "ex/site/app1/views.py")
    assert (code, stderr) == (1, "")
    assert [(f["path"], f["line"], f["code"]) for f in document["findings"]] == [("ex/site/app1/views.py", 6, "AG101")]


def test_unknown_code_in_disable_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.awaitguard.mypy]\ndisable = ["await-not-awaitabel"]\n')
    (tmp_path / "mod.py").write_text("x = 1\n")
    code, _, stderr = run(tmp_path, "mod.py")
    assert code == 2 and "await-not-awaitabel" in stderr
    assert stderr.rstrip().endswith(
        "(known: AG101, AG102, AG103, AG104, AG105, AG106, AG107, AG108, AG109, AG110, AG111, AG201, AG202, AG203)"
    )


def test_unknown_code_in_the_shared_table_is_an_error(tmp_path: Path) -> None:
    """[tool.awaitguard] is read by every hook: its codes are checked by this one too."""
    (tmp_path / "pyproject.toml").write_text('[tool.awaitguard]\nignore = ["AG999"]\n')
    (tmp_path / "mod.py").write_text("x = 1\n")
    code, document, stderr = run(tmp_path, "mod.py")
    assert (code, document) == (2, {})
    assert stderr.splitlines() == [
        f"awaitguard mypy: error: {tmp_path / 'pyproject.toml'}: [tool.awaitguard] `ignore` names an unknown code "
        "`AG999` (known: AG101, AG102, AG103, AG104, AG105, AG106, AG107, AG108, AG109, AG110, AG111, AG201, AG202, "
        "AG203)"
    ]


UNRESOLVED = (
    "mypy found no module for 1 import (no_such_package_here): calls into it are `Any` and unchecked "
    "(list the packages in additional_dependencies)"
)


def test_missing_and_untyped_imports_are_told_apart(tmp_path: Path) -> None:
    """An installed package without types (Django, in the test extra) needs stubs, not an install."""
    (tmp_path / "mod.py").write_text("import django\nimport gone_one\nimport gone_two\n\nx = 1\n")
    code, _document, stderr = run(tmp_path, "mod.py")
    assert code == 0
    assert stderr.splitlines() == [
        "awaitguard mypy: note: mypy found no module for 2 imports (gone_one, gone_two): calls into them are "
        "`Any` and unchecked (list the packages in additional_dependencies)",
        "awaitguard mypy: note: mypy found no types for 1 import (django): calls into it are `Any` and unchecked "
        "(add their stubs packages, such as types-..., to additional_dependencies where they exist)",
    ]


def test_unresolved_imports_are_a_note_in_every_format(tmp_path: Path) -> None:
    """A note about the whole run: on stderr as `awaitguard mypy: note: ...` in every format, JSON's
    "notices" (not "errors"), a SARIF execution notification of level note, a GitHub ::notice:: without
    a file. It never makes the run fail."""
    (tmp_path / "mod.py").write_text(
        "import no_such_package_here\n\n\ndef get_manager():\n    return 1\n\n\n"
        "async def handler():\n    return await get_manager()\n"
    )
    outputs = {}
    for fmt in ("text", "json", "sarif", "github"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "awaitguard",
                "mypy",
                "--format",
                fmt,
                "--cache-dir",
                str(tmp_path / ".cache"),
                "mod.py",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (proc.returncode, proc.stderr) == (1, f"awaitguard mypy: note: {UNRESOLVED}\n"), fmt
        outputs[fmt] = proc.stdout
    assert outputs["text"].splitlines()[0].startswith("mod.py:9:12: AG101 ")  # at the `await`, as the scan
    assert UNRESOLVED not in outputs["text"] and "error" not in outputs["text"]
    document = json.loads(outputs["json"])
    assert [(f["path"], f["line"], f["code"]) for f in document["findings"]] == [("mod.py", 9, "AG101")]
    assert (document["errors"], document["notices"]) == ([], [{"message": UNRESOLVED}])
    (sarif_run,) = json.loads(outputs["sarif"])["runs"]
    assert sarif_run["invocations"] == [
        {
            "executionSuccessful": True,
            "toolExecutionNotifications": [{"level": "note", "message": {"text": UNRESOLVED}}],
        }
    ]
    github = outputs["github"].splitlines()
    assert [line.split(" ", 1)[0] for line in github] == ["::error", f"::notice::{UNRESOLVED}".split(" ", 1)[0]]
    assert github[1] == f"::notice::{UNRESOLVED}"


DAEMON_SVC_SYNC = 'def get_manager():\n    return {"mode": "prod"}\n'
DAEMON_SVC_ASYNC = 'async def get_manager():\n    return {"mode": "prod"}\n'
DAEMON_APP = "from pkg.svc import get_manager\n\n\nasync def handler():\n    return await get_manager()\n"


def _daemon_project(tmp_path: Path, svc: str) -> Path:
    (tmp_path / "mypy.ini").write_text("[mypy]\nplugins = awaitguard.mypy\ncheck_untyped_defs = True\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "svc.py").write_text(svc)
    (tmp_path / "pkg" / "app.py").write_text(DAEMON_APP)
    return tmp_path / "pkg" / "svc.py"


def _dmypy(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    status = ["--status-file", str(cwd / "dmypy.json")]
    return subprocess.run(
        [sys.executable, "-m", "mypy.dmypy", *status, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


DMYPY_TEXT = re.compile(r"(?P<file>[^:]+):(?P<line>\d+): error: .*  \[(?P<code>[\w-]+)\]")


def _daemon_findings(cwd: Path) -> set[tuple[str, int, str]]:
    proc = _dmypy(cwd, "run", "--", "-O", "json", "--show-traceback", "pkg")
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    # mypy 2.0's dmypy writes text whatever `-O` says: `pkg/app.py:5: error: ...  [code]`
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")] + [
        {"file": m["file"], "line": int(m["line"]), "code": m["code"]}
        for m in map(DMYPY_TEXT.fullmatch, proc.stdout.splitlines())
        if m is not None
    ]
    assert proc.returncode == (1 if records else 0), proc.stdout + proc.stderr
    return {(r["file"], r["line"], r["code"]) for r in records}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Path]:
    try:
        yield tmp_path
    finally:
        if _dmypy(tmp_path, "stop").returncode != 0:
            _dmypy(tmp_path, "kill")


AWAITED = {("pkg/app.py", 5, "await-not-awaitable")}


def test_dmypy_follows_edits_of_callee_and_caller(daemon: Path) -> None:
    svc = _daemon_project(daemon, DAEMON_SVC_ASYNC)
    app = daemon / "pkg" / "app.py"
    assert _daemon_findings(daemon) == set()
    # the plugin instance lives on in the daemon: its view of svc.py must not be the first run's
    svc.write_text(DAEMON_SVC_SYNC)
    app.write_text(DAEMON_APP + "# edited\n")
    assert _daemon_findings(daemon) == AWAITED
    svc.write_text(DAEMON_SVC_ASYNC)
    assert _daemon_findings(daemon) == set()
    svc.write_text(DAEMON_SVC_SYNC)
    app.write_text(DAEMON_APP)
    assert _daemon_findings(daemon) == AWAITED


def test_dmypy_flip_of_callee_alone(daemon: Path) -> None:
    svc = _daemon_project(daemon, DAEMON_SVC_SYNC)
    assert _daemon_findings(daemon) == AWAITED
    svc.write_text(DAEMON_SVC_ASYNC)  # the caller had errors: dmypy always rechecks it
    assert _daemon_findings(daemon) == set()


@pytest.mark.xfail(
    strict=True,
    reason="mypy's daemon rechecks callers only when a symbol's snapshot changes, and an unannotated "
    "def's snapshot holds only its parameters: `async def` -> `def` and body edits fire nothing "
    "(mypy's own errors are missed the same way). Passes once mypy fixes it: then drop the mark.",
)
def test_dmypy_flip_back_of_callee_alone(daemon: Path) -> None:
    svc = _daemon_project(daemon, DAEMON_SVC_ASYNC)
    assert _daemon_findings(daemon) == set()
    svc.write_text(DAEMON_SVC_SYNC)
    assert _daemon_findings(daemon) == AWAITED


PARALLEL_FILES = {
    "lib/__init__.py": "",
    "lib/svc.py": 'def get_manager():\n    return {"mode": "prod"}\n\n\ndef charge(amount):\n    return amount > 0\n',
    "lib/dyn.py": "def build() -> dict[str, str]:\n    return {}\n",
    "app/__init__.py": "",
    "app/main.py": textwrap.dedent(
        """\
        import importlib

        from lib.svc import get_manager


        async def handler():
            await get_manager()
            mod = importlib.import_module("lib.dyn")
            await mod.build()
        """
    ),
    # lib.svc and lib.dyn reach these modules only through strings: get_additional_deps loads them
    "app/test_main.py": textwrap.dedent(
        """\
        from unittest.mock import AsyncMock, patch


        def test_charge():
            with patch("lib.svc.charge", new_callable=AsyncMock):
                pass
        """
    ),
}
PARALLEL_EXPECTED = {("app/main.py", 7, "AG101"), ("app/main.py", 9, "AG101"), ("app/test_main.py", 5, "AG201")}


def _parallel_project(root: Path, config: str | None) -> None:
    for name, text in PARALLEL_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if config is not None:
        (root / "mypy.ini").write_text(config)


def test_parallel_run_equals_serial(tmp_path: Path) -> None:
    _parallel_project(tmp_path, "[mypy]\n")
    serial = run(tmp_path, "app")
    assert (serial[0], found(serial[1]), serial[2]) == (1, PARALLEL_EXPECTED, "")
    for cache in ("parallel", "parallel"):  # cold, then warm
        code, document, stderr = run(tmp_path, "-n", "2", "--cache-dir", str(tmp_path / cache), "app")
        assert (code, stderr) == (1, "")
        assert document["findings"] == serial[1]["findings"]
        assert document["errors"] == serial[1]["errors"] == []
        assert document["notices"] == serial[1]["notices"] == []


def test_callee_read_from_mypy_cache_keeps_its_location(tmp_path: Path) -> None:
    """mypy keeps no line for a cached ``def``: a test module re-checked against a cached target (a
    second run, or another ``-n`` worker) must still name where the target is defined."""
    _parallel_project(tmp_path, "[mypy]\n")
    first = run(tmp_path, "app")
    test_main = tmp_path / "app/test_main.py"
    test_main.write_text(test_main.read_text() + "# edited: re-checked, lib.svc comes from the cache\n")
    second = run(tmp_path, "app")
    assert second[2] == "" and second[1]["findings"] == first[1]["findings"]
    (double,) = [f for f in second[1]["findings"] if f["code"] == "AG201"]
    assert [(r["path"], r["line"]) for r in double["related"]] == [("lib/svc.py", 5)]


def test_parallel_without_config_file_runs_serial_and_says_so(tmp_path: Path) -> None:
    _parallel_project(tmp_path, None)
    code, document, stderr = run(tmp_path, "-n", "2", "app")
    assert (code, found(document), stderr) == (1, PARALLEL_EXPECTED, f"awaitguard mypy: note: {SERIAL_NOTICE}\n")
    assert (document["errors"], document["notices"]) == ([], [{"message": SERIAL_NOTICE}])  # a note, not an error


def _plain_mypy(cwd: Path, *args: str) -> set[tuple[str, int, str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "-O", "json", "--show-traceback", *args, "app"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stderr == "", proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 1, proc.stdout
    return {(r["file"], r["line"], r["code"]) for r in records}


def test_plain_mypy_parallel_equals_serial(tmp_path: Path) -> None:
    _parallel_project(tmp_path, "[mypy]\nplugins = awaitguard.mypy\ncheck_untyped_defs = True\n")
    serial = _plain_mypy(tmp_path, "--cache-dir", str(tmp_path / "serial"))
    assert serial == {
        ("app/main.py", 7, "await-not-awaitable"),
        ("app/main.py", 9, "misc"),
        ("app/test_main.py", 5, "awaitable-double-over-sync"),
    }
    for _ in ("cold", "warm"):
        assert _plain_mypy(tmp_path, "-n", "2", "--cache-dir", str(tmp_path / "parallel")) == serial


NON_ASCII = textwrap.dedent(
    """\
    def get_manager():
        return {}


    def typed() -> int:
        return 1


    async def handler():
        x = "é"; await get_manager()
        x = "日本"; await get_manager()
        é = 1; await get_manager()
        x = "😀"; await get_manager()
        x = "é"; await typed()
        x = "日本"; print(await x(get_manager()))
    """
)


@pytest.mark.parametrize("parser", ["--native-parser", "--no-native-parser"])
def test_non_ascii_before_the_await(tmp_path: Path, parser: str) -> None:
    (tmp_path / "mod.py").write_text(NON_ASCII, encoding="utf-8")
    code, document, stderr = run(tmp_path, parser, "mod.py")
    assert (code, stderr) == (1, "")
    by_line = {f["line"]: f for f in document["findings"]}
    assert sorted(by_line) == [10, 11, 12, 13, 14]
    lines = NON_ASCII.splitlines()
    for line, finding in by_line.items():
        assert finding["code"] == "AG101"
        # mypy's own error and the plugin's finding alike at the `await`, as the scan reports them
        assert finding["col"] == lines[line - 1].index("await") + 1  # 1-based code points
    assert by_line[14]["args"]["expr"] == "typed()"


def test_fixes_never_break_working_code(cold: tuple[int, dict[str, Any], str]) -> None:
    by_key = {(f["path"], f["line"], f["code"]): f for f in cold[1]["findings"]}
    # ``await coro().real`` would await the attribute: the await goes in brackets
    assert by_key[("protocols/AG102_result.py", 9, "AG102")]["fix"] == "write `(await coro())`"
    assert by_key[("protocols/AG102_result.py", 8, "AG102")]["fix"] == "write `await coro()`"
    # a stored coroutine: one finding where it is created (`await pending` at each use fails the second time)
    stored = by_key[("protocols/AG102_result.py", 15, "AG102")]
    assert stored["fix"] == "write `pending = await coro()`"
    assert [(r["line"], r["message"]) for r in stored["related"]] == [
        (16, "`pending` is used as its result here"),
        (17, "`pending` is used as its result here"),
    ]
    assert by_key[("protocols/AG102_result.py", 21, "AG102")]["fix"] == (
        "await the coroutine once, where `pending` is created (a coroutine can be awaited only once)"
    )
    # in a plain def, `await` is a syntax error: the fix says what it takes
    assert by_key[("protocols/AG102_sync.py", 5, "AG102")]["fix"].startswith(
        "`await` needs an `async def`: make `refresh`"
    )
    assert by_key[("protocols/AG102_sync.py", 9, "AG102")]["fix"].startswith("write `await coro()`")
    # not known to be a sync iterable: the fix says what it depends on
    unknown = by_key[("protocols/AG104_coroutine.py", 19, "AG104")]["fix"]
    assert unknown.startswith("if `NotIterable` is a sync iterable, ")
    # mypy's await error rests on the annotations: the fix never says "drop the await" outright
    declared = by_key[("protocols/AG101_sure.py", 11, "AG101")]["fix"]
    assert declared.startswith("if the value really is `int`, drop the `await`")
    assert "correct the annotation" in declared


def test_every_note_points_at_its_definition(cases: Path, cold: tuple[int, dict[str, Any], str]) -> None:
    """A related location is a line of the file it names, and what the note says is there is there."""
    seen = 0
    for finding in cold[1]["findings"]:
        for related in finding["related"]:
            lines = (cases / related["path"]).read_text(encoding="utf-8").splitlines()
            assert 1 <= related["line"] <= len(lines), (finding["path"], finding["line"], related)
            text = lines[related["line"] - 1].strip()
            for kind in ("async def", "def"):
                if f"is `{kind}` here" in related["message"]:
                    assert text.startswith(f"{kind} "), (finding["path"], finding["line"], related, text)
                    seen += 1
                    break
    assert seen >= 10
    reexported = {(f["path"], f["line"]): f for f in cold[1]["findings"]}[("doubles/test_AG202_reexport.py", 5)]
    assert [(r["path"], r["line"]) for r in reexported["related"]] == [("doubles/impl.py", 15)]


def test_a_note_that_does_not_hold_is_dropped(tmp_path: Path) -> None:
    """A plugin note naming a line past the end of its file, or claiming `async def` where the line
    is a `def`, is left out of the finding (the finding itself stays)."""
    from awaitguard.mypy_plugin.translate import translate

    svc = tmp_path / "svc.py"
    svc.write_text("def spawn():\n    return None\n\n\nasync def fetch():\n    return 1\n", encoding="utf-8")
    test = tmp_path / "test_svc.py"
    test.write_text('patch("svc.fetch", new=MagicMock())\n', encoding="utf-8")
    notes = [
        ("`fetch` is `async def` here", f"{svc}:5"),
        ("`spawn` is `async def` here", f"{svc}:1"),
        ("`fetch` is `async def` here", f"{svc}:17"),
    ]
    args = {"double": "MagicMock(...)", "target": "svc.fetch", "fix": "patch with `autospec=True`"}
    record = {
        "file": str(test),
        "line": 1,
        "column": 0,
        "message": (
            "`MagicMock(...)` replaces async `svc.fetch`; the double's call returns no awaitable where the "
            "target's returns a coroutine, so an `await` of it raises TypeError in the test"
        ),
        "hint": encode(args, notes),
        "code": CODES["AG202"].slug,
        "severity": "error",
    }

    def read_line(path: str, line: int) -> str:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    (finding,), _ = translate([record], read_line)
    assert [(r.path, r.line) for r in finding.related] == [(str(svc), 5)]
    assert finding.kwargs == args  # the finding's data, as the plugin handed it over


def test_a_plugin_finding_is_read_as_data_never_from_its_message(tmp_path: Path) -> None:
    """The hook takes a plugin finding's arguments from the data its note carries: a message that says
    otherwise is not read, and an error of ours that carries no data is no finding."""
    from awaitguard.mypy_plugin.translate import translate

    args = {"double": "AsyncMock", "target": "app.charge", "fix": "use `Mock`"}
    record = {
        "file": str(tmp_path / "test_app.py"),
        "line": 3,
        "column": 4,
        "message": "`Something` else entirely",
        "hint": "a note for people\n" + encode(args, [("`charge` is `def` here", "")]),
        "code": CODES["AG201"].slug,
        "severity": "error",
    }
    (finding,), _ = translate([record], lambda _path, _line: "")
    assert (finding.line, finding.col, finding.code, finding.kwargs, finding.related) == (3, 5, "AG201", args, ())
    assert translate([{**record, "hint": "help: use `Mock`"}], lambda _path, _line: "") == ([], 0)


def test_plain_mypy_shows_notes_for_people(tmp_path: Path) -> None:
    """`plugins = awaitguard.mypy` in a plain mypy run: the notes name the definition and the fix, and
    no data note is shown; `awaitguard mypy` over the same files reads the finding's data."""
    (tmp_path / "mypy.ini").write_text("[mypy]\nplugins = awaitguard.mypy\ncheck_untyped_defs = True\n")
    (tmp_path / "mod.py").write_text("def plain():\n    return 1\n\n\nasync def main():\n    await plain()\n")
    command = [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / ".mypy_cache"), "mod.py"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and proc.stderr == ""
    assert "mod.py:6: note: `plain` is `def` here (defined at mod.py:1)" in proc.stdout
    assert "mod.py:6: note: help: " in proc.stdout
    assert MARK not in proc.stdout
    code, document, stderr = run(tmp_path, "--cache-dir", str(tmp_path / ".mypy_cache"), "mod.py")
    assert (code, stderr) == (1, "")
    (finding,) = document["findings"]
    assert finding["args"]["expr"] == "plain(...)" and finding["related"][0]["line"] == 1


SHARED_LIB = """from typing import Any


class SearchCommands:
    def suglen(self, key: str) -> int:
        return self.execute_command("FT.SUGLEN", key)  # type: ignore[attr-defined,no-any-return]

    def local(self) -> int:
        return self._count()

    def _count(self) -> int:
        return 1


class AsyncSearch(SearchCommands):
    async def execute_command(self, *args: Any) -> Any:
        return 1
"""
SHARED_APP = """from sharedlib import AsyncSearch


async def use(search: AsyncSearch) -> None:
    await search.suglen("ac")
    await search.local()
"""


def test_shared_command_layer_of_an_installed_package(tmp_path: Path) -> None:
    """A package outside the project (the scanner does not read it): a method declared `-> int` that
    returns `self.execute_command(...)`, an `async def` on the receiver, is awaitable at run time."""
    lib = tmp_path / "lib" / "sharedlib"
    lib.mkdir(parents=True)
    (lib / "__init__.py").write_text(SHARED_LIB, encoding="utf-8")
    (lib / "py.typed").write_text("", encoding="utf-8")
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(SHARED_APP, encoding="utf-8")
    for _ in range(2):  # cold, then from mypy's cache (which keeps no bodies)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "awaitguard.mypy_plugin.hook",
                "--format",
                "json",
                "--cache-dir",
                str(tmp_path / "c"),
                "main.py",
            ],
            cwd=app,
            env={**os.environ, "MYPYPATH": str(tmp_path / "lib")},
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        assert found(json.loads(proc.stdout)) == {("main.py", 6, "AG101")}


SHARED_FILTER_CONFIG = """\
[tool.awaitguard]
ignore = ["AG102"]

[tool.awaitguard.per-file-ignores]
"legacy/*" = ["AG101"]
"""
SHARED_FILTER_APP = """\
def plain():
    return 1


async def work():
    return 2


async def main():
    await plain()  # noqa: AG101
    await plain()  # noqa: E501
    await plain()  # awaitguard: ignore[AG101]
    await plain()  # awaitguard: ignore[AG102]
    await plain()  # noqa
    work()
"""
SHARED_FILTER_LEGACY = """\
from app import plain


async def old():
    await plain()
"""


def test_suppressions_and_code_filters_are_the_scans(tmp_path: Path) -> None:
    """`# noqa: AG101`, `# awaitguard: ignore[...]`, `ignore` and `per-file-ignores` silence the same
    findings in the mypy hook as in the scan."""
    (tmp_path / "pyproject.toml").write_text(SHARED_FILTER_CONFIG)
    (tmp_path / "app.py").write_text(SHARED_FILTER_APP)
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "__init__.py").write_text("")
    (tmp_path / "legacy" / "old.py").write_text(SHARED_FILTER_LEGACY)
    code, document, stderr = run(tmp_path, "app.py", "legacy")
    assert (code, stderr) == (1, "")
    expected = {("app.py", 11, "AG101"), ("app.py", 13, "AG101")}
    assert found(document) == expected
    assert found(scan_json(tmp_path, "--all")) == expected


SAME_AS_SCAN = """\
async def fetch():
    return 1


class Repo:
    def load(self):
        return []


def plain():
    return 1


async def handler():
    return await plain(), await Repo().load()


def process(items):
    async with fetch() as stack:
        print(stack)
    async for item in items:
        print(item)
    found = [row async for row in items]
    return await fetch(), found, (await item for item in items)
"""


def _placed(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (f["line"], f["col"], f["code"], f["message"], f["fix"], tuple((r["line"], r["col"]) for r in f["related"]))
        for f in document["findings"]
    )


def test_awaits_and_async_statements_are_reported_where_and_as_the_scan_does(tmp_path: Path) -> None:
    """An awaited call's AG101 at its `await`, notes at the definition's column, and `async with`/`async for`/
    async comprehensions/`await` in a plain `def` as AG106 findings with exit 1 (mypy reports the first
    two with the code `syntax`, and goes on checking): the hook's findings are the scan's, word for word."""
    (tmp_path / "mod.py").write_text(SAME_AS_SCAN, encoding="utf-8")
    code, document, stderr = run(tmp_path, "mod.py")
    assert (code, stderr) == (1, "")
    assert _placed(document) == _placed(scan_json(tmp_path, "mod.py"))
    assert [(f[0], f[1], f[2]) for f in _placed(document)] == [
        (15, 12, "AG101"),
        (15, 27, "AG101"),
        (19, 5, "AG106"),
        (21, 5, "AG106"),
        (23, 13, "AG106"),
        (24, 12, "AG106"),
    ]
    assert _placed(document)[1][5] == ((6, 5),)  # the note at `def load`, in its class: column 5


def test_a_blocking_error_is_one_line_after_the_findings_before_it(tmp_path: Path) -> None:
    """mypy stops at a `yield` outside a function (a blocking error): the AG106 found before it are
    printed, the blocking error is one stderr line saying that mypy stopped there, and the exit is 2."""
    (tmp_path / "a.py").write_text(
        "async def fetch():\n    return 1\n\n\ndef f():\n    async with fetch():\n        pass\n"
    )
    (tmp_path / "b.py").write_text("import a\n\nyield 1\n")
    code, document, stderr = run(tmp_path, "a.py", "b.py")
    assert found(document) == {("a.py", 6, "AG106")}
    assert code == 2
    assert stderr == (
        'awaitguard mypy: error: mypy: b.py:3: "yield" outside function; '
        "mypy stopped at this error and checked nothing after it\n"
    )
