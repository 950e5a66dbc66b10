"""`awaitguard parity` end to end on small projects on disk: each difference, its must-not-report twin,
bad input, the output formats; and real pytest runs proving that the warning filters it reports do hide
a never-awaited coroutine (and that the twins do not)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from awaitguard.cli import main
from awaitguard.parity.checks import allows, command_loop
from awaitguard.rules import PARITY_CODES

if TYPE_CHECKING:
    from conftest import GitRepo

DOCS = Path(__file__).resolve().parent.parent / "docs" / "parity.md"

CI = """\
name: tests
on: push
jobs:
  test:
    strategy:
      matrix:
        python-version: [{versions}]
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: ${{{{ matrix.python-version }}}}
      - run: pytest
"""
PYPROJECT = """\
[project]
name = "shop"
requires-python = ">=3.10"
dependencies = ["fastapi"]

[tool.pytest.ini_options]
asyncio_mode = "auto"
filterwarnings = ["error"]
"""
DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY . .
RUN pip install .
CMD ["uvicorn", "shop.app:app", "--host", "0.0.0.0", "--loop", "asyncio"]
"""
CLEAN = {
    "Dockerfile": DOCKERFILE,
    "pyproject.toml": PYPROJECT,
    ".github/workflows/tests.yml": CI.format(versions='"3.11", "3.12"'),
    "shop/__init__.py": "",
    "shop/app.py": "import asyncio\n\n\nasync def handler() -> int:\n    await asyncio.sleep(0)\n    return 1\n",
    "tests/test_app.py": (
        "from shop.app import handler\n\n\nasync def test_handler() -> None:\n    assert await handler() == 1\n"
    ),
}


def project(root: Path, files: dict[str, str], **changes: str | None) -> Path:
    """``files`` with ``changes`` (``path__with__dunders`` for ``/``, ``_dot_`` for a leading dot; None deletes)."""
    merged = dict(files)
    for key, value in changes.items():
        path = key.replace("__", "/").replace("_dot_", ".")
        if value is None:
            merged.pop(path, None)
        else:
            merged[path] = value
    for rel, text in merged.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def parity(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.chdir(root)
    monkeypatch.setenv("PRE_COMMIT", "1")  # the hook's own interpreter is not the tests': never counted
    code = main(["parity", *args])
    out, err = capsys.readouterr()
    return code, out, err


def found(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> set[tuple[str, int, str]]:
    code, out, err = parity(root, monkeypatch, capsys, "--format", "json")
    assert err == ""
    document = json.loads(out)
    result = {(f["path"], f["line"], f["code"]) for f in document["findings"]}
    assert code == (1 if result else 0)
    return result


def test_clean_project_prints_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, CLEAN)
    assert parity(tmp_path, monkeypatch, capsys) == (0, "", "")


# --- the interpreter ------------------------------------------------------------------------------------------


def test_production_python_not_in_the_test_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, CLEAN, _dot_github__workflows__tests_dot_yml=CI.format(versions='"3.10", "3.11"'))
    code, out, err = parity(tmp_path, monkeypatch, capsys)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "Dockerfile:1: AG301 production runs Python 3.12 (`FROM python:3.12-slim`) but the tests run only on "
        "3.10, 3.11: behaviour that changed between these versions (asyncio's TaskGroup and timeout, event-loop "
        "creation, error wordings) reaches production untested",
        "    .github/workflows/tests.yml:7: note: the tests run on Python 3.10, 3.11 here",
        "    help: add 3.12 to the versions the tests run on, or run production on a tested version",
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # tox, nox and .python-version count as test versions too
        ({"tox.ini": "[tox]\nenvlist = py{310,311}\n"}, {("Dockerfile", 4, "AG301")}),
        ({"tox.ini": "[tox]\nenvlist = py{311,312}\n"}, set()),
        (
            {
                "noxfile.py": (
                    "import nox\n\nPYTHONS = ['3.10', '3.12']\n\n\n@nox.session(python=PYTHONS)\n"
                    "def tests(session):\n    session.run('pytest')\n"
                )
            },
            set(),
        ),
        (
            {
                "noxfile.py": (
                    "import nox\n\n\n@nox.session(python=['3.10'])\ndef tests(session):\n    session.run('pytest')\n"
                )
            },
            {("Dockerfile", 4, "AG301")},
        ),
        ({".python-version": "3.12.4\n"}, set()),
        # a version the workflow computes: unknown, so nothing is said
        (
            {
                ".github/workflows/t.yml": (
                    "jobs:\n  t:\n    steps:\n      - uses: actions/setup-python@v5\n        with:\n"
                    "          python-version: ${{ inputs.py }}\n      - run: pytest\n"
                ),
                "tox.ini": "[tox]\nenvlist = py310\n",
            },
            set(),
        ),
        # no test version known at all: nothing to compare
        ({}, set()),
    ],
)
def test_python_sources(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    expected: set[tuple[str, int, str]],
) -> None:
    # a multi-stage image: the final stage's base counts, through a named stage and ARG defaults
    docker = (
        "ARG PY=3.12\nFROM node:20 AS assets\nRUN npm ci\n"
        'FROM python:${PY}-slim AS runtime\nFROM runtime\nCMD ["python", "-m", "shop"]\n'
    )
    base = {k: v for k, v in CLEAN.items() if not k.startswith(".github")}
    project(tmp_path, {**base, "Dockerfile": docker, **files})
    assert found(tmp_path, monkeypatch, capsys) == expected


def test_production_python_outside_requires_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, CLEAN, Dockerfile=DOCKERFILE.replace("3.12", "3.9"), runtime_dot_txt=None)
    assert found(tmp_path, monkeypatch, capsys) == {("Dockerfile", 1, "AG302")}
    project(tmp_path, CLEAN, Dockerfile=None)
    (tmp_path / "Dockerfile").unlink()
    (tmp_path / "runtime.txt").write_text("python-3.11.9\n", encoding="utf-8")
    assert found(tmp_path, monkeypatch, capsys) == set()


@pytest.mark.parametrize(
    ("spec", "version", "ok"),
    [
        (">=3.10", "3.9", False),
        (">=3.10", "3.10", True),
        (">=3.10,<3.13", "3.13", False),
        ("~=3.11", "3.12", True),
        ("<4,>=3.11", "3.12", True),
        ("==3.12.*", "3.12", True),
        ("==3.12.*", "3.11", False),
        (">3.10", "3.10", False),
    ],
)
def test_requires_python(spec: str, version: str, ok: bool) -> None:
    assert allows(spec, version) is ok


# --- the event loop --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "loop"),
    [
        ("uvicorn app:app --loop uvloop", "uvloop"),
        ("uvicorn app:app --loop=asyncio", None),
        ("uvicorn app:app", "auto"),
        ("gunicorn app:app -k uvicorn.workers.UvicornWorker", "auto"),
        ("gunicorn app:app --worker-class uvicorn.workers.UvicornH11Worker", None),
        ("hypercorn app:app -k uvloop", "uvloop"),
        ("hypercorn app:app", None),
        ("python -m shop", None),
        ("tini -- litestar run --host 0.0.0.0", "auto"),
        ("uv run fastapi run --workers 4", "auto"),
    ],
)
def test_command_loop(command: str, loop: str | None) -> None:
    assert command_loop(command) == loop


SERVE = "import uvicorn\n\n\ndef main() -> None:\n    uvicorn.run('shop.app:app', port=8000)\n"
UVLOOP_CONFTEST = (
    "import pytest\nimport uvloop\n\n\n@pytest.fixture(scope='session')\ndef event_loop_policy():\n"
    "    return uvloop.EventLoopPolicy()\n"
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"Dockerfile": DOCKERFILE.replace('"asyncio"', '"uvloop"')}, {("Dockerfile", 5, "AG311")}),
        ({"Dockerfile": DOCKERFILE.replace('"asyncio"', '"uvloop"'), "tests/conftest.py": UVLOOP_CONFTEST}, set()),
        # uvicorn's default loop is uvloop when it is installed: uvicorn[standard] installs it
        (
            {
                "Dockerfile": DOCKERFILE.replace(', "--loop", "asyncio"', ""),
                "pyproject.toml": PYPROJECT.replace('"fastapi"', '"fastapi", "uvicorn[standard]"'),
            },
            {("Dockerfile", 5, "AG311")},
        ),
        (
            {
                "Dockerfile": DOCKERFILE.replace(', "--loop", "asyncio"', ""),
                "pyproject.toml": PYPROJECT.replace('"fastapi"', '"fastapi", "uvicorn"'),
            },
            set(),
        ),
        (
            {
                "Procfile": "web: gunicorn shop.app:app -k uvicorn.workers.UvicornWorker\n",
                "requirements.txt": "uvloop==0.21\n",
            },
            {("Procfile", 1, "AG311")},
        ),
        # uvicorn.run() in production code: its default loop, unless it is a reloading development server
        (
            {
                "shop/main.py": SERVE,
                "shop/dev.py": SERVE.replace("port=8000", "port=8000, reload=True"),
                "shop/h11.py": SERVE.replace("port=8000", "port=8000, loop='asyncio'"),
                "pyproject.toml": PYPROJECT.replace('"fastapi"', '"fastapi", "uvicorn[standard]"'),
            },
            {("shop/main.py", 5, "AG311")},
        ),
        ({"shop/main.py": SERVE}, set()),
        (
            {
                "Procfile": "web: litestar run --host 0.0.0.0\n",
                "pyproject.toml": PYPROJECT.replace('"fastapi"', '"litestar", "litestar-granian[uvloop]"'),
            },
            {("Procfile", 1, "AG311")},
        ),
        (
            {
                "shop/main.py": (
                    "import asyncio\n\nimport uvloop\n\nfrom shop.app import handler\n\n"
                    "uvloop.install()\nasyncio.run(handler())\n"
                )
            },
            {("shop/main.py", 7, "AG311")},
        ),
        (
            {
                "shop/main.py": (
                    "import asyncio\n\nimport uvloop\n\nfrom shop.app import handler\n\nuvloop.run(handler())\n"
                ),
                "tests/conftest.py": UVLOOP_CONFTEST,
            },
            set(),
        ),
        # a uvloop loop made by hand and set, or run (taskiq's worker), and its asyncio twin
        (
            {
                "shop/main.py": (
                    "import asyncio\n\nimport uvloop\n\nfrom shop.app import handler\n\n"
                    "loop = uvloop.new_event_loop()\nasyncio.set_event_loop(loop)\n"
                    "loop.run_until_complete(handler())\n"
                ),
                "shop/other.py": (
                    "import asyncio\n\nfrom shop.app import handler\n\n"
                    "loop = asyncio.new_event_loop()\nasyncio.set_event_loop(loop)\n"
                    "loop.run_until_complete(handler())\n"
                ),
            },
            {("shop/main.py", 8, "AG311")},  # one finding a file
        ),
        # test code and examples are not production
        (
            {
                "tests/helpers.py": "import uvloop\n\nuvloop.install()\n",
                "examples/bot.py": "import uvloop\n\nuvloop.install()\n",
                "benchmark/consume.py": (
                    "import asyncio\n\nimport uvloop\n\nasyncio.set_event_loop_policy(uvloop.EventLoopPolicy())\n"
                ),
            },
            set(),
        ),
    ],
)
def test_event_loop(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str],
    expected: set[tuple[str, int, str]],
) -> None:
    project(tmp_path, {**CLEAN, **changes})
    assert found(tmp_path, monkeypatch, capsys) == expected


def test_optional_uvloop_says_when(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    main_py = (
        "import asyncio\n\nfrom shop.app import handler\n\ntry:\n    import uvloop\n"
        "except ImportError:\n    uvloop = None\n\n\n"
        "def run() -> None:\n    if uvloop is not None:\n        uvloop.install()\n    asyncio.run(handler())\n"
    )
    project(tmp_path, {**CLEAN, "shop/main.py": main_py})
    code, out, _ = parity(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert out.startswith(
        "shop/main.py:13: AG311 production runs on uvloop (`uvloop.install()` here, when uvloop is installed) but "
        "the async tests run on asyncio's own event loop"
    )


# --- warning filters ---------------------------------------------------------------------------------------------


def with_filters(*entries: str) -> str:
    listed = "".join(f'    "{e}",\n' for e in entries)
    return PYPROJECT.replace('filterwarnings = ["error"]', f"filterwarnings = [\n{listed}]")


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (("ignore::RuntimeWarning",), {9}),
        (("error", "ignore::Warning"), {10}),
        (("ignore",), {9}),
        (("ignore:coroutine .* was never awaited:RuntimeWarning",), {9}),
        (("error", "ignore::pytest.PytestUnraisableExceptionWarning"), {10}),
        # unraisable warnings carry the coroutine only when RuntimeWarning is an error
        (("ignore::pytest.PytestUnraisableExceptionWarning",), set()),
        # the last matching entry wins
        (("ignore::RuntimeWarning", "error::RuntimeWarning"), set()),
        # a filter for another message, category or module
        (("ignore:unclosed file:RuntimeWarning",), set()),
        (("ignore::DeprecationWarning",), set()),
        (("ignore::RuntimeWarning:some_library",), set()),
        (("error",), set()),
    ],
)
def test_config_filters(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    entries: tuple[str, ...],
    expected: set[int],
) -> None:
    project(tmp_path, CLEAN, pyproject_dot_toml=with_filters(*entries))
    assert found(tmp_path, monkeypatch, capsys) == {("pyproject.toml", line, "AG321") for line in expected}


def test_addopts_and_ini_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """pytest.ini wins over pyproject.toml; -W in addopts is applied after filterwarnings."""
    ini = (
        "[pytest]\nasyncio_mode = auto\nfilterwarnings =\n    error\n"
        "    default::DeprecationWarning\naddopts = -W ignore::RuntimeWarning\n"
    )
    project(tmp_path, CLEAN, pytest_dot_ini=ini)
    assert found(tmp_path, monkeypatch, capsys) == {("pytest.ini", 6, "AG321")}
    (tmp_path / "pytest.ini").write_text(ini.replace("addopts = -W ignore::RuntimeWarning\n", ""), encoding="utf-8")
    assert found(tmp_path, monkeypatch, capsys) == set()


CONFTEST_FILTERS = """\
import warnings

import pytest

warnings.simplefilter("ignore")  # decided again by the configured "error" for each test: hides nothing


@pytest.fixture(autouse=True)
def quiet():
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    yield


def test_deliberate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
"""


def test_filters_in_test_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, CLEAN, tests__conftest_dot_py=CONFTEST_FILTERS)
    assert found(tmp_path, monkeypatch, capsys) == {("tests/conftest.py", 10, "AG321")}
    # without a configured filter the import-time one decides
    project(tmp_path, CLEAN, pyproject_dot_toml=PYPROJECT.replace('filterwarnings = ["error"]\n', ""))
    assert found(tmp_path, monkeypatch, capsys) == {
        ("tests/conftest.py", 5, "AG321"),
        ("tests/conftest.py", 10, "AG321"),
    }
    mark = (
        "import pytest\n\npytestmark = pytest.mark.filterwarnings('ignore::pytest.PytestUnraisableExceptionWarning')\n"
    )
    project(tmp_path, CLEAN, tests__conftest_dot_py="", tests__test_mark_dot_py=mark)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    assert found(tmp_path, monkeypatch, capsys) == {("tests/test_mark.py", 3, "AG321")}


DROPPED = "async def work():\n    return 1\n\n\ndef test_dropped():\n    work()\n"


@pytest.mark.parametrize(
    ("ini", "hidden"),
    [
        ("[pytest]\nfilterwarnings =\n    ignore::RuntimeWarning\n", True),
        ("[pytest]\nfilterwarnings =\n    error\n    ignore::pytest.PytestUnraisableExceptionWarning\n", True),
        ("[pytest]\nfilterwarnings =\n    ignore::pytest.PytestUnraisableExceptionWarning\n", False),
        ("[pytest]\nfilterwarnings =\n    ignore::RuntimeWarning\n    error::RuntimeWarning\n", False),
    ],
)
def test_reported_filters_really_hide_a_dropped_coroutine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ini: str, hidden: bool
) -> None:
    """The premise of AG321, checked with real pytest: where it reports, pytest passes silently."""
    project(tmp_path, {"pytest.ini": ini, "test_drop.py": DROPPED})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:awaitguard",
            "-p",
            "no:asyncio",
            "test_drop.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert ("was never awaited" not in output and proc.returncode == 0) is hidden, output
    reported = found(tmp_path, monkeypatch, capsys)
    assert bool(reported) is hidden
    assert all(code == "AG321" for _, _, code in reported)


# --- debug mode, pytest-asyncio -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"Dockerfile": DOCKERFILE.replace("WORKDIR /app", "ENV PYTHONASYNCIODEBUG=1")}, {("Dockerfile", 2, "AG331")}),
        ({"Procfile": "web: python -X dev -m shop\n"}, {("Procfile", 1, "AG331")}),
        (
            {"shop/main.py": "import asyncio\n\nfrom shop.app import handler\n\nasyncio.run(handler(), debug=True)\n"},
            {("shop/main.py", 5, "AG331")},
        ),
        # the tests run in debug mode too
        (
            {
                "Dockerfile": DOCKERFILE.replace("WORKDIR /app", "ENV PYTHONASYNCIODEBUG=1"),
                "tox.ini": "[testenv]\nsetenv =\n    PYTHONASYNCIODEBUG = 1\n",
            },
            set(),
        ),
        # debug mode is a value only known at run time
        (
            {
                "shop/main.py": (
                    "import asyncio\nimport os\n\nasyncio.get_event_loop().set_debug(bool(os.environ.get('D')))\n"
                )
            },
            set(),
        ),
    ],
)
def test_debug_mode(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str],
    expected: set[tuple[str, int, str]],
) -> None:
    project(tmp_path, {**CLEAN, **changes})
    assert found(tmp_path, monkeypatch, capsys) == expected


STRICT = PYPROJECT.replace('asyncio_mode = "auto"\n', "").replace(
    'dependencies = ["fastapi"]',
    'dependencies = ["fastapi"]\n\n[project.optional-dependencies]\ntest = ["pytest", "pytest-asyncio"]',
)
ASYNC_TESTS = """\
import unittest

import pytest

from shop.app import handler


async def test_unmarked():
    assert await handler() == 1


@pytest.mark.asyncio
async def test_marked():
    assert await handler() == 1


class TestGroup:
    async def test_in_class(self):
        assert await handler() == 1


class TestCase(unittest.IsolatedAsyncioTestCase):
    async def test_unittest(self):
        assert await handler() == 1
"""


def test_unmarked_async_tests_in_strict_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, CLEAN, pyproject_dot_toml=STRICT, tests__test_app_dot_py=ASYNC_TESTS)
    assert found(tmp_path, monkeypatch, capsys) == {
        ("tests/test_app.py", 8, "AG341"),
        ("tests/test_app.py", 18, "AG341"),
    }
    marked = "import pytest\n\npytestmark = pytest.mark.asyncio\n" + ASYNC_TESTS.replace("import pytest\n", "")
    project(tmp_path, CLEAN, pyproject_dot_toml=STRICT, tests__test_app_dot_py=marked)
    assert found(tmp_path, monkeypatch, capsys) == set()
    # a conftest hook may mark or run them itself
    project(
        tmp_path,
        CLEAN,
        pyproject_dot_toml=STRICT,
        tests__test_app_dot_py=ASYNC_TESTS,
        tests__conftest_dot_py="def pytest_collection_modifyitems(items):\n    pass\n",
    )
    assert found(tmp_path, monkeypatch, capsys) == set()


@pytest.mark.parametrize(
    ("pyproject", "files"),
    [
        # a plugin named in conftest (aiohttp's, pytest-jupyter's) may run unmarked async tests
        (STRICT, {"tests/conftest.py": "pytest_plugins = ['aiohttp.pytest_plugin']\n"}),
        # nothing in the suite is marked for pytest-asyncio: it does not rely on marking
        (STRICT, {"tests/test_app.py": ASYNC_TESTS.replace("@pytest.mark.asyncio\n", "")}),
        # auto mode runs them all, whatever else the file holds
        (PYPROJECT, {"tests/test_app.py": "import warnings\n" + ASYNC_TESTS}),
        # a decorator may make it something pytest does not collect (discord.py's `@tree.command()`)
        (
            STRICT,
            {
                "tests/test_app.py": ASYNC_TESTS.replace(
                    "async def test_unmarked", "@tree.command()\nasync def test_x"
                ).replace("class TestGroup:", "class TestGroup(Base):")
            },
        ),
    ],
)
def test_async_tests_someone_else_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pyproject: str,
    files: dict[str, str],
) -> None:
    base = {**CLEAN, "tests/test_app.py": ASYNC_TESTS.replace("class TestGroup:", "class TestGroup(Base):")}
    project(tmp_path, {**base, "pyproject.toml": pyproject, **files})
    assert found(tmp_path, monkeypatch, capsys) == set()


# --- configuration, bad input, formats ------------------------------------------------------------------------------


def test_configured_production_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = PYPROJECT + '\n[tool.awaitguard.parity]\nproduction = ["deploy/Dockerfile.prod"]\n'
    prod = DOCKERFILE.replace("3.12", "3.13")
    project(tmp_path, CLEAN, pyproject_dot_toml=config, deploy__Dockerfile_dot_prod=prod)
    assert found(tmp_path, monkeypatch, capsys) == {("deploy/Dockerfile.prod", 1, "AG301")}
    code, out, err = parity(tmp_path, monkeypatch, capsys, "--production", "Dockerfile")
    assert (code, out, err) == (0, "", "")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '[tool.awaitguard.parity]\nproduction = ["deploy/Dockerfile"]\n',
            "awaitguard parity: error: deploy/Dockerfile: no such file",
        ),
        (
            "[tool.awaitguard.parity]\nprod = 1\n",
            "unknown key `prod` in [tool.awaitguard.parity] (known: ignore, production)",
        ),
        (
            "[tool.awaitguard.parity]\nproduction = 1\n",
            "[tool.awaitguard.parity] `production` must be a str or list, got int",
        ),
        ("[tool.awaitguard\n", "not valid TOML"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: str, message: str
) -> None:
    project(tmp_path, CLEAN, pyproject_dot_toml=PYPROJECT + config)
    code, out, err = parity(tmp_path, monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and message in err and err.startswith("awaitguard parity: error: "), err


def test_github_format_and_subprocess(tmp_path: Path) -> None:
    project(tmp_path, CLEAN, Dockerfile=DOCKERFILE.replace("WORKDIR /app", "ENV PYTHONASYNCIODEBUG=1"))
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "parity", "--format", "github"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (1, "")
    assert proc.stdout.startswith(
        "::error file=Dockerfile,line=2,title=AG331 debug-untested::production runs asyncio in debug mode"
    )
    assert " — help: run the tests in debug mode too" in proc.stdout


def test_related_locations_in_every_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reporters the scan uses render parity findings too; a parity finding's related locations are
    evidence, so the github format writes each with its note (not "defined at")."""
    project(
        tmp_path,
        CLEAN,
        Dockerfile=DOCKERFILE.replace(', "--loop", "asyncio"', "").replace(
            "RUN pip install .", "RUN pip install uvloop"
        ),
    )
    message = (
        "production runs on uvloop (`uvicorn shop.app:app --host 0.0.0.0` picks uvloop when it is installed, and "
        "production installs it) but the async tests run on asyncio's own event loop: uvloop differs in "
        "thread-safety checks, error wordings, signal and subprocess handling, so what passes in the tests can "
        "fail in production"
    )
    fix = str(PARITY_CODES["AG311"].fix).replace("{{", "{").replace("}}", "}")
    assert parity(tmp_path, monkeypatch, capsys, "--format", "github") == (
        1,
        "::error file=Dockerfile,line=5,title=AG311 loop-untested::"
        f"{message} (Dockerfile:4: uvloop is installed here) — help: {fix}\n",
        "",
    )
    assert parity(tmp_path, monkeypatch, capsys) == (
        1,
        f"Dockerfile:5: AG311 {message}\n    Dockerfile:4: note: uvloop is installed here\n    help: {fix}\n",
        "",
    )
    code, out, _ = parity(tmp_path, monkeypatch, capsys, "--format", "json")
    assert (code, json.loads(out)["findings"]) == (
        1,
        [
            {
                "path": "Dockerfile",
                "line": 5,
                "col": 0,
                "code": "AG311",
                "slug": "loop-untested",
                "message": message,
                "fix": fix,
                "impact": False,
                "args": {
                    "how": "`uvicorn shop.app:app --host 0.0.0.0` picks uvloop when it is installed, and "
                    "production installs it"
                },
                "related": [{"path": "Dockerfile", "line": 4, "col": 0, "message": "uvloop is installed here"}],
            }
        ],
    )


def test_every_code_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(__import__("re").findall(r"^### (AG3\d\d) ", text, __import__("re").MULTILINE))
    assert documented == set(PARITY_CODES)
    for meta in PARITY_CODES.values():
        assert f"### {meta.code} `{meta.slug}`" in text


def test_subproject_reads_the_repositorys_ci(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`backend/` has its own pyproject.toml; CI and .python-version sit at the top of the git repository."""
    workflow = (
        "jobs:\n  test-backend:\n    steps:\n      - uses: actions/setup-python@v5\n        with:\n"
        "          python-version-file: .python-version\n      - run: uv run pytest\n"
    )
    git_repo.write(".github/workflows/test-backend.yml", workflow)
    git_repo.write(".python-version", "3.11\n")
    for rel, text in CLEAN.items():
        if not rel.startswith(".github"):
            git_repo.write(f"backend/{rel}", text)
    code, out, _ = parity(git_repo.root / "backend", monkeypatch, capsys)
    assert code == 1
    assert out.splitlines()[:2] == [
        "Dockerfile:1: AG301 production runs Python 3.12 (`FROM python:3.12-slim`) but the tests run only on "
        "3.11: behaviour that changed between these versions (asyncio's TaskGroup and timeout, event-loop "
        "creation, error wordings) reaches production untested",
        "    ../.python-version:1: note: the tests run on Python 3.11 here",
    ]
    git_repo.write(".python-version", "3.12\n")
    assert found(git_repo.root / "backend", monkeypatch, capsys) == set()


def test_the_interpreter_running_awaitguard_is_not_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Outside pre-commit too: awaitguard's own environment (here the suite's) lives outside the project."""
    files = {k: v for k, v in CLEAN.items() if not k.startswith(".github")}
    project(tmp_path, files, Dockerfile=DOCKERFILE.replace("3.12", "3.13"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    assert main(["parity"]) == 0
    assert capsys.readouterr() == ("", "")
    # the project's own virtualenv says which Python runs its tests
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.11.9\n", encoding="utf-8")
    assert found(tmp_path, monkeypatch, capsys) == {("Dockerfile", 1, "AG301")}


STRICT_SUITE = """\
from pathlib import Path

import pytest


async def test_unmarked():
    Path("unmarked-ran").write_text("")


@pytest.mark.asyncio
async def test_marked():
    Path("marked-ran").write_text("")
"""


def test_reported_async_test_really_does_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The premise of AG341, checked with real pytest and pytest-asyncio: the reported test's body never runs."""
    ini = "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    project(tmp_path, {"pytest.ini": ini, "test_suite.py": STRICT_SUITE})
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:awaitguard", "test_suite.py"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert (tmp_path / "marked-ran").exists()
    assert not (tmp_path / "unmarked-ran").exists()
    (tmp_path / "marked-ran").unlink()
    assert found(tmp_path, monkeypatch, capsys) == {("test_suite.py", 6, "AG341")}


@pytest.mark.parametrize(
    ("ini", "hidden"),
    [("[pytest]\n", True), ("[pytest]\nfilterwarnings =\n    error::RuntimeWarning\n", False)],
)
def test_pythonwarnings_in_the_test_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ini: str, hidden: bool
) -> None:
    """tox's setenv hands PYTHONWARNINGS to pytest, under pytest's own filters; checked with real pytest."""
    tox = "[tox]\nenvlist = py311\n\n[testenv]\nsetenv =\n    PYTHONWARNINGS = ignore::RuntimeWarning\n"
    tox += "commands = pytest\n"
    project(tmp_path, {"pytest.ini": ini, "tox.ini": tox, "test_drop.py": DROPPED})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:awaitguard", "-p", "no:asyncio"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore::RuntimeWarning"},
    )
    output = proc.stdout + proc.stderr
    assert ("was never awaited" not in output and proc.returncode == 0) is hidden, output
    assert found(tmp_path, monkeypatch, capsys) == ({("tox.ini", 6, "AG321")} if hidden else set())


_HIDES = (
    " in the tests: a coroutine that is never awaited passes the tests silently, while production logs "
    "`RuntimeWarning: coroutine '...' was never awaited` and its work never runs"
)
WORDED = [
    (
        "tox.ini",
        6,
        "`PYTHONWARNINGS=ignore::RuntimeWarning` in the test environment hides the never-awaited `RuntimeWarning`"
        + _HIDES,
        "remove it from the test environment, or let pytest's `filterwarnings` decide",
    ),
    (
        "pyproject.toml",
        10,
        "the pytest filter `ignore::pytest.PytestUnraisableExceptionWarning` hides `PytestUnraisableExceptionWarning` "
        "(how pytest reports a never-awaited coroutine once RuntimeWarning is an error)" + _HIDES,
        "remove this filter, or narrow it to the warning you mean "
        "(`ignore:<message>:pytest.PytestUnraisableExceptionWarning:<module>`)",
    ),
    (
        "tests/conftest.py",
        10,
        'this warnings filter (`warnings.filterwarnings("ignore", category=RuntimeWarning)`) hides the '
        "never-awaited `RuntimeWarning`" + _HIDES,
        "remove it, or filter only inside `with warnings.catch_warnings():` around the call that warns",
    ),
]


def test_the_words_of_each_hidden_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """AG321's what, hidden warning and fix for a filter in the test environment, in pytest's configuration
    and in test code, exactly as the rule family words them."""
    tox = "[tox]\nenvlist = py311\n\n[testenv]\nsetenv =\n    PYTHONWARNINGS = ignore::RuntimeWarning\n"
    setups = {
        "environment": {"pytest.ini": "[pytest]\n", "tox.ini": tox, "test_drop.py": DROPPED},
        "configuration": {
            **CLEAN,
            "pyproject.toml": with_filters("error", "ignore::pytest.PytestUnraisableExceptionWarning"),
        },
        "code": {**CLEAN, "tests/conftest.py": CONFTEST_FILTERS},
    }
    worded = []
    for name, files in setups.items():
        project(tmp_path / name, files)
        code, out, err = parity(tmp_path / name, monkeypatch, capsys, "--format", "json")
        assert (code, err) == (1, ""), name
        worded += [(f["path"], f["line"], f["message"], f["fix"]) for f in json.loads(out)["findings"]]
    assert worded == WORDED


def test_accepted_differences_are_silenced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A difference the team accepts: a comment on its line (or above it, in a Dockerfile), or a code in
    ``[tool.awaitguard.parity] ignore``."""
    docker = DOCKERFILE.replace("WORKDIR /app", "ENV PYTHONASYNCIODEBUG=1")
    filters = with_filters("error", "ignore::pytest.PytestUnraisableExceptionWarning")
    project(tmp_path, CLEAN, Dockerfile=docker, pyproject_dot_toml=filters)
    assert found(tmp_path, monkeypatch, capsys) == {("Dockerfile", 2, "AG331"), ("pyproject.toml", 10, "AG321")}
    accepted = filters.replace(
        '"ignore::pytest.PytestUnraisableExceptionWarning",',
        '"ignore::pytest.PytestUnraisableExceptionWarning",  # awaitguard: ignore[AG321]',
    )
    project(
        tmp_path, CLEAN, Dockerfile=docker.replace("ENV PYTHONASYNCIODEBUG", "# noqa: AG331\nENV PYTHONASYNCIODEBUG")
    )
    (tmp_path / "pyproject.toml").write_text(accepted, encoding="utf-8")
    assert found(tmp_path, monkeypatch, capsys) == set()
    # a comment for another code silences nothing
    (tmp_path / "pyproject.toml").write_text(accepted.replace("ignore[AG321]", "ignore[AG311]"), encoding="utf-8")
    assert found(tmp_path, monkeypatch, capsys) == {("pyproject.toml", 10, "AG321")}
    project(
        tmp_path,
        CLEAN,
        Dockerfile=docker,
        pyproject_dot_toml=filters + '\n[tool.awaitguard.parity]\nignore = ["AG32"]\n',
    )
    assert found(tmp_path, monkeypatch, capsys) == {("Dockerfile", 2, "AG331")}
    project(tmp_path, CLEAN, pyproject_dot_toml=PYPROJECT + '\n[tool.awaitguard.parity]\nignore = ["AG101"]\n')
    code, out, err = parity(tmp_path, monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("awaitguard parity: error: ") and "unknown code `AG101`" in err and err.count("\n") == 1


def test_a_script_the_image_runs_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """CMD runs a shell script copied from the project: its server and environment lines are production's."""
    docker = (
        "FROM python:3.12-slim\nENV APP=/srv/app\nWORKDIR $APP\nCOPY . .\n"
        'COPY docker/start.sh /usr/local/bin/\nCMD ["start.sh"]\n'
    )
    start = (
        "#!/bin/sh\n# exec uvicorn shop.app:app --loop uvloop (the old way)\nexec uvicorn shop.app:app --loop uvloop\n"
    )
    project(tmp_path, CLEAN, Dockerfile=docker, docker__start_dot_sh=start)
    assert found(tmp_path, monkeypatch, capsys) == {("docker/start.sh", 3, "AG311")}
    run = "#!/bin/sh\nexport PYTHONASYNCIODEBUG=1\nexec gunicorn shop.app:app\n"
    docker = docker.replace('CMD ["start.sh"]', 'CMD ["./run.sh"]')
    project(tmp_path, CLEAN, Dockerfile=docker, run_dot_sh=run)
    assert found(tmp_path, monkeypatch, capsys) == {("run.sh", 2, "AG331")}
    # a script the image does not copy from the project is not read
    project(tmp_path, CLEAN, Dockerfile=docker.replace("COPY . .\n", ""))
    assert found(tmp_path, monkeypatch, capsys) == set()
