"""Code only a newer Python can parse: which version it needs, the one line that says what to set, and
when such a file blocks a commit (it changed) or is a note (a pure rename, a file only read on the way).

The scan runs in-process on the interpreter running the suite (3.10 to 3.13 in CI), so every end-to-end
test writes syntax newer than that interpreter (``NEWER``), or is skipped where none exists yet.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from awaitguard.cli import main
from awaitguard.newer import RUNNING, mypy_advice, needed, requires_python

if TYPE_CHECKING:
    from conftest import GitRepo

VERSION = "{}.{}".format(*RUNNING)

# (source, version it needs, what it is): what this interpreter cannot parse, one statement on one line
_NEWER: dict[tuple[int, int], tuple[str, str, str]] = {
    (3, 10): ("type Alias = int\n", "3.12", "a `type` statement"),
    (3, 11): ("type Alias = int\n", "3.12", "a `type` statement"),
    (3, 12): ("type Alias[T = int] = list[T]\n", "3.13", "a `type` statement with a type parameter with a default"),
    (3, 13): ('GREETING = t"hi {__name__}"\n', "3.14", "a template string (t-string)"),
}
NEWER = _NEWER.get(RUNNING)
needs_newer = pytest.mark.skipif(NEWER is None, reason=f"no syntax newer than Python {VERSION} is known yet")


def hint(version: str, hook: str = "awaitguard-scan", why: str = "") -> str:
    why = why or f"this code needs Python {version}"
    return (
        f"{why} and this hook runs on Python {VERSION}: add `language_version: python{version}` under "
        f"`- id: {hook}` in .pre-commit-config.yaml (or `default_language_version: {{python: python{version}}}`), "
        f"or run awaitguard with Python {version}+"
    )


def parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


# ------------------------------------------------------------------------------------------- needed()

# (source, the version it needs, what): each is valid Python from that version on
NEWER_CASES = [
    pytest.param("type X = int\n", (3, 12), "a `type` statement", id="type-alias"),
    pytest.param(
        "type Pair[T: (int, str), *Ts, **P] = tuple[T, T]\n", (3, 12), "a `type` statement", id="type-alias-params"
    ),
    pytest.param(
        "class C:\n    type X = int\n    y = 1; type Z = str\n", (3, 12), "a `type` statement", id="type-in-class"
    ),
    pytest.param(
        "type L[T = int] = list[T]\n",
        (3, 13),
        "a `type` statement with a type parameter with a default",
        id="type-param-default",
    ),
    pytest.param("def first[T](xs: list[T]) -> T:\n    return xs[0]\n", (3, 12), "a type parameter list", id="def"),
    pytest.param(
        "async def first[\n    T: int,\n](xs: list[T]) -> T:\n    return xs[0]\n",
        (3, 12),
        "a type parameter list",
        id="def-multiline",
    ),
    pytest.param(
        "class Box[T]:\n    pass\n\n\nclass Pair[T](Box[T]):\n    pass\n", (3, 12), "a type parameter list", id="class"
    ),
    pytest.param(
        "def f[T = int](x: T) -> T:\n    return x\n", (3, 13), "a type parameter with a default", id="def-default"
    ),
    pytest.param("try:\n    pass\nexcept* ValueError:\n    pass\n", (3, 11), "`except*`", id="except-star"),
    pytest.param(
        'd = {"k": 1}\nx = f"{d["k"]}"\n',
        (3, 12),
        "a PEP 701 f-string",
        id="fstring-quotes",
    ),
    pytest.param(
        "x = f\"{'\\n'.join(['a'])}\"\n",
        (3, 12),
        "a PEP 701 f-string",
        id="fstring-backslash",
    ),
    pytest.param(
        "x = f'''{\n    1  # one\n}'''\n",
        (3, 12),
        "a PEP 701 f-string",
        id="fstring-comment",
    ),
    pytest.param('x = f"{3!r  :>4}"\n', (3, 12), "a PEP 701 f-string", id="fstring-space-after-conversion"),
    pytest.param(
        'x = f"{1:{2:{3}}}"\n',
        (3, 12),
        "a PEP 701 f-string",
        id="fstring-deeper-spec",
    ),
    pytest.param('name = "a"\nx = t"hi {name!r:>{10}}"\n', (3, 14), "a template string (t-string)", id="tstring"),
    pytest.param(
        "import os\ntry:\n    pass\nexcept* os.error, ValueError:\n    pass\n",
        (3, 14),
        "`except` with several exception types and no parentheses",
        id="except-star-unparenthesized",
    ),
    pytest.param(
        "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n",
        (3, 14),
        "`except` with several exception types and no parentheses",
        id="except-unparenthesized",
    ),
    pytest.param(
        "# a comment\ntype X = int\n\n\ndef f[T](x: T) -> T:\n    return x\n", (3, 12), "a `type` statement", id="both"
    ),
    pytest.param('type X = int\ny = t"{X}"\n', (3, 14), "a template string (t-string)", id="newest-wins"),
]


@pytest.mark.parametrize(("source", "version", "what"), NEWER_CASES)
def test_needed_names_the_version_only_when_this_python_cannot_parse_it(
    source: str, version: tuple[int, int], what: str
) -> None:
    assert parses(source) == (RUNNING >= version)  # the case is real on this interpreter
    found = needed(source.encode())
    if RUNNING >= version:
        assert found is None
    else:
        assert found == (version, what)


# Syntax errors in every version: never said to need a newer Python, on any interpreter.
ORDINARY = [
    pytest.param("def f(:\n    pass\n", id="typo"),
    pytest.param("type X = int\ndef f(:\n    pass\n", id="newer-plus-typo"),
    pytest.param('d = {}\nx = f"{d["k"] +}"\n', id="fstring-bad-expression"),
    pytest.param('d = {}\nx = f"{d["k"]}{}"\n', id="fstring-empty-field"),
    pytest.param('x = f"{1!z}"\n', id="fstring-bad-conversion"),
    pytest.param('x = t"{}"\n', id="tstring-empty-field"),
    pytest.param("try:\n    pass\nexcept ValueError, e:\n    pass\n", id="python2-except"),
    pytest.param("try:\n    pass\nexcept os.error, (errno, msg):\n    pass\n", id="python2-except-tuple"),
    pytest.param("print 'hi'\n", id="python2-print"),
    pytest.param("type X[] = int\n", id="empty-type-params"),
    pytest.param("def f[*Ts: int](): pass\n", id="bound-on-typevartuple"),
    pytest.param("x = (\n", id="unclosed"),
    pytest.param("type = 3\nx = (\n", id="type-as-a-name"),
    pytest.param("async def f():\n    await\n", id="bare-await"),
    pytest.param('x = t"a" "b"\n', id="tstring-next-to-a-string"),
    pytest.param('x = ("a"\n     t"b")\n', id="string-next-to-a-tstring"),
]


@pytest.mark.parametrize("source", ORDINARY)
def test_an_ordinary_syntax_error_is_never_said_to_need_a_newer_python(source: str) -> None:
    assert not parses(source)
    assert needed(source.encode()) is None


@pytest.mark.parametrize(
    ("spec", "bound"),
    [
        ("==3.14.*", (3, 14)),
        (">=3.12", (3, 12)),
        (">= 3.12, <4", (3, 12)),
        ("~=3.11", (3, 11)),
        (">3.11", (3, 12)),
        (">=3", (3, 0)),
        ("<4", None),
    ],
)
def test_requires_python_lower_bound(tmp_path: Path, spec: str, bound: tuple[int, int] | None) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\nrequires-python = "{spec}"\n')
    assert requires_python(tmp_path) == bound


def test_requires_python_absent_or_unreadable(tmp_path: Path) -> None:
    assert requires_python(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert requires_python(tmp_path) is None


# ------------------------------------------------------------------------------------------- the scan


Outcome = tuple[int, list[str], list[str]]


def scan(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    code = main(["scan", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines(), captured.err.splitlines()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWAITGUARD_CACHE_DIR", str(tmp_path / "cache"))
    for key in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "PRE_COMMIT_SOURCE", "PRE_COMMIT_ORIGIN"):
        monkeypatch.delenv(key, raising=False)


def newer_module(header: str = "") -> str:
    """A module this interpreter cannot parse (its line 2 is newer syntax) that defines ``get``
    and an ``async def`` (so that ``--all`` reads it)."""
    assert NEWER is not None
    return f"# models\n{NEWER[0]}{header}\n\ndef get():\n    return 1\n\n\nasync def fetch():\n    return 1\n"


def error_line(path: str) -> str:
    """The error for ``newer_module()`` at ``path``: the interpreter's own message, and what it needs."""
    assert NEWER is not None
    try:
        ast.parse(newer_module())
    except SyntaxError as exc:
        line, message = exc.lineno, exc.msg
    else:  # pragma: no cover - NEWER is chosen so that it fails
        raise AssertionError("newer_module() parses")
    return f"{path}:{line}: error: cannot parse with Python {VERSION}: {message} ({NEWER[2]} needs Python {NEWER[1]})"


def note_line(path: str) -> str:
    return (
        f"awaitguard scan: note: not scanned (not changed by this commit): {error_line(path).replace(': error', '', 1)}"
    )


CALLER = "from models import get\n\n\nasync def handler():\n    return {call}\n"


@pytest.fixture
def repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A project whose ``models.py`` this interpreter cannot parse, and a caller of it, committed."""
    git_repo.write("pyproject.toml", "[project]\nname = 'demo'\n")
    git_repo.write("models.py", newer_module())
    git_repo.write("app.py", CALLER.format(call="get()"))
    git_repo.commit("base")
    monkeypatch.chdir(git_repo.root)
    return git_repo


@needs_newer
def test_a_comment_only_edit_blocks_with_the_version_it_needs(
    capsys: pytest.CaptureFixture[str], repo: GitRepo
) -> None:
    assert NEWER is not None
    repo.write("models.py", newer_module("# a comment"))
    repo.git("add", "models.py")
    assert scan(capsys) == (2, [], [error_line("models.py"), f"awaitguard scan: note: {hint(NEWER[1])}"])


@needs_newer
def test_an_added_file_blocks_too(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    assert NEWER is not None
    repo.write("more.py", newer_module())
    repo.git("add", "more.py")
    assert scan(capsys) == (2, [], [error_line("more.py"), f"awaitguard scan: note: {hint(NEWER[1])}"])


@needs_newer
def test_a_rename_that_also_edits_blocks(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    assert NEWER is not None
    repo.git("mv", "models.py", "kinds.py")
    repo.write("kinds.py", newer_module("# moved"))
    repo.git("add", "kinds.py")
    assert scan(capsys) == (2, [], [error_line("kinds.py"), f"awaitguard scan: note: {hint(NEWER[1])}"])


@needs_newer
def test_a_pure_rename_is_a_note_and_the_scan_goes_on(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    assert NEWER is not None
    repo.git("mv", "models.py", "kinds.py")
    assert scan(capsys) == (0, [], [note_line("kinds.py"), f"awaitguard scan: note: {hint(NEWER[1])}"])
    # and a finding elsewhere in the same commit decides the exit code
    repo.write("app.py", "def plain():\n    return 1\n\n\nasync def handler():\n    return await plain()\n")
    repo.git("add", "app.py")
    code, out, err = scan(capsys)
    assert (code, [line.split(": ")[0] for line in out if not line.startswith(" ")]) == (1, ["app.py:6:12"])
    assert err == [note_line("kinds.py"), f"awaitguard scan: note: {hint(NEWER[1])}"]


@needs_newer
def test_a_file_read_for_impact_analysis_is_a_note(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    """``util.get`` turns async: its callers are looked up (`git grep -w get`), models.py among them;
    it cannot be parsed and this commit does not change it, so it is a note; app.py's impact finding stays."""
    assert NEWER is not None
    repo.write("util.py", "def get():\n    return 1\n")
    repo.write("app.py", "from util import get\n\n\nasync def handler():\n    get()\n    return 1\n")
    repo.commit("util")
    repo.write("util.py", "async def get():\n    return 1\n")
    repo.git("add", "util.py")
    code, out, err = scan(capsys)
    assert (code, [line.split(": ")[0] for line in out if not line.startswith(" ")]) == (1, ["app.py:5:5"])
    assert err == [note_line("models.py"), f"awaitguard scan: note: {hint(NEWER[1])}"]


@needs_newer
def test_all_reports_it_as_an_error_with_the_hint(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    assert NEWER is not None
    assert scan(capsys, "--all") == (2, [], [error_line("models.py"), f"awaitguard scan: note: {hint(NEWER[1])}"])


@needs_newer
def test_requires_python_above_the_newest_syntax_wins(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    repo.write("pyproject.toml", "[project]\nname = 'demo'\nrequires-python = '==3.99.*'\n")
    repo.write("models.py", newer_module("# a comment"))
    repo.git("add", "models.py")
    why = "the project requires Python 3.99 (requires-python)"
    assert scan(capsys) == (2, [], [error_line("models.py"), f"awaitguard scan: note: {hint('3.99', why=why)}"])


def test_an_ordinary_syntax_error_gets_no_hint(
    capsys: pytest.CaptureFixture[str], git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.write("pyproject.toml", "[project]\nname = 'demo'\n")
    git_repo.write("broken.py", "type X = int\ndef f(:\n    pass\n")
    git_repo.git("add", "-A")
    monkeypatch.chdir(git_repo.root)
    code, out, err = scan(capsys)
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].endswith(f"(is it Python, and no newer than {VERSION}?)")


def test_an_ordinary_syntax_error_under_a_newer_requires_python_gets_its_hint(
    capsys: pytest.CaptureFixture[str], git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint then names the project's own version; the error line does not claim the syntax is newer."""
    git_repo.write("pyproject.toml", "[project]\nname = 'demo'\nrequires-python = '>=3.99'\n")
    git_repo.write("broken.py", "def f(:\n    pass\n")
    git_repo.git("add", "-A")
    monkeypatch.chdir(git_repo.root)
    code, out, err = scan(capsys)
    why = "the project requires Python 3.99 (requires-python)"
    assert (code, out, err[1:]) == (2, [], [f"awaitguard scan: note: {hint('3.99', why=why)}"])
    assert err[0].endswith(f"(is it Python, and no newer than {VERSION}?)")


# ------------------------------------------------------------------------------------------- the mypy hook


def run_mypy_hook(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "awaitguard.mypy_plugin.hook", "--cache-dir", str(cwd / ".mypy_cache"), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


@needs_newer
def test_mypy_hook_names_the_language_version(tmp_path: Path) -> None:
    assert NEWER is not None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "models.py").write_text(newer_module())
    proc = run_mypy_hook(tmp_path, "models.py")
    assert (proc.returncode, proc.stdout) == (2, "")
    [line] = proc.stderr.splitlines()
    assert line.startswith("awaitguard mypy: error: mypy: models.py:2: ")
    assert line.endswith(f"; {hint(NEWER[1], 'awaitguard-mypy')}")


def test_mypy_hook_names_the_setting_when_mypy_targets_an_older_python(tmp_path: Path) -> None:
    """With the user's own older `python_version`, the interpreter is not the cause: the line says so."""
    (tmp_path / "models.py").write_text("def first[T](xs: list[T]) -> T:\n    return xs[0]\n")
    proc = run_mypy_hook(tmp_path, "--python-version", "3.10", "models.py")
    assert (proc.returncode, proc.stdout) == (2, "")
    [line] = proc.stderr.splitlines()
    assert line.startswith("awaitguard mypy: error: mypy: models.py:1: ")
    if RUNNING == (3, 10):  # mypy's target is then this interpreter's version
        assert line.endswith(f"; {hint('3.12', 'awaitguard-mypy')}")
    else:
        assert line.endswith(
            "; mypy checks for Python 3.10 (`python_version` in your mypy configuration or `--python-version`): "
            "set it to 3.12 or newer"
        )


def test_mypy_hook_ordinary_syntax_error_has_no_hint(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text("def f(:\n    pass\n")
    proc = run_mypy_hook(tmp_path, "models.py")
    assert (proc.returncode, proc.stdout) == (2, "")
    [line] = proc.stderr.splitlines()
    assert line.startswith("awaitguard mypy: error: mypy: models.py:1: ")
    assert "language_version" not in line and "python_version" not in line


@needs_newer
def test_mypy_advice_for_a_mypy_whose_parser_only_says_invalid_syntax(tmp_path: Path) -> None:
    """An older mypy parses with this interpreter's ``ast``: the file itself is examined, as the scan does."""
    assert NEWER is not None
    (tmp_path / "models.py").write_text(newer_module())
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    advice = mypy_advice(str(tmp_path / "models.py"), "invalid syntax", RUNNING, tmp_path)
    assert advice == hint(NEWER[1], "awaitguard-mypy")
    assert mypy_advice(str(tmp_path / "broken.py"), "invalid syntax", RUNNING, tmp_path) is None
