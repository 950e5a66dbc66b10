"""Library knowledge from a real virtual environment: wheels built here, installed by pip, read from disk.

The project in ``fixtures/libraries/project`` gets a ``.venv`` (found without configuration) holding
four distributions: inline ``async def``s, a ``py.typed`` package, a runtime package whose only
contract is a separate ``-stubs`` distribution, and a package the project's own ``stub-paths`` override.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import tree_expectations

FIXTURE = Path(__file__).parent / "fixtures" / "libraries"
PACKAGES = FIXTURE / "packages"


def build_wheel(source: Path, name: str, version: str, out: Path) -> Path:
    """A pure-Python wheel of every file under ``source`` (what a build backend would write)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    wheel = out / f"{dist}-{version}-py3-none-any.whl"
    files = {p.relative_to(source).as_posix(): p.read_bytes() for p in sorted(source.rglob("*")) if p.is_file()}
    tops = sorted({path.split("/")[0] for path in files})
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: awaitguard-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/top_level.txt"] = "\n".join(tops).encode() + b"\n"
    record = []
    for path, blob in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(blob)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, blob in files.items():
            archive.writestr(path, blob)
    return wheel


def pip_install(venv: Path, *wheels: Path) -> None:
    python = venv / "bin" / "python"
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--no-deps"]
    proc = subprocess.run([*cmd, *map(str, wheels)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def make_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    return {
        name: build_wheel(PACKAGES / name, name, "1.0", out)
        for name in ("inlinelib", "typedlib", "dyncli", "dyncli-stubs", "overlib")
    }


@pytest.fixture
def project(tmp_path: Path, wheels: dict[str, Path]) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "project", root)
    pip_install(make_venv(root / ".venv"), *wheels.values())
    return root


def scan(root: Path, *args: str, cache: Path | None = None) -> tuple[int, set[tuple[str, int, str]], str]:
    env = {**os.environ, "AWAITGUARD_CACHE_DIR": str(cache or root.parent / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "scan", "--all", "--format", "json", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    found: set[tuple[str, int, str]] = set()
    if proc.stdout.strip():
        found = {(f["path"], f["line"], f["code"]) for f in json.loads(proc.stdout)["findings"]}
    return proc.returncode, found, proc.stderr


def test_installed_packages_exact_findings(project: Path) -> None:
    code, found, stderr = scan(project, "--no-cache")
    assert found == tree_expectations(FIXTURE / "project"), stderr
    assert code == 1


def test_library_facts_are_cached_per_version_and_follow_an_upgrade(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = scan(project, cache=cache)
    assert first[1] == tree_expectations(FIXTURE / "project")
    assert sum(1 for p in (cache / "lib").rglob("*") if p.is_file()) > 0
    assert scan(project, cache=cache)[1] == first[1]  # warm: same answer
    # inlinelib 2.0 makes `fetch` a plain def: the cached 1.0 facts must not be used
    source = tmp_path / "inlinelib2"
    shutil.copytree(PACKAGES / "inlinelib", source)
    client = source / "inlinelib" / "client.py"
    old = "async def fetch(self, path):\n        await asyncio.sleep(0)\n        return path\n"
    assert old in client.read_text()
    client.write_text(client.read_text().replace(old, "def fetch(self, path):\n        return [path]\n"))
    pip_install(project / ".venv", build_wheel(source, "inlinelib", "2.0", tmp_path))
    after = scan(project, cache=cache)[1]
    fetch_drops = {("app.py", 12, "AG102"), ("app.py", 38, "AG102")}
    assert fetch_drops <= first[1]
    assert not fetch_drops & after
    assert ("app_ok.py", 12, "AG101") in after  # `await self.fetch("/")` now awaits a plain def


def test_without_the_packages_nothing_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "project", root)
    make_venv(root / ".venv")
    code, found, stderr = scan(root, "--no-cache")
    # only the user's own stub for `overlib` is left: it still speaks for `Channel`
    assert found == {("app.py", 25, "AG102"), ("app.py", 26, "AG101")}, stderr
    assert code == 1


@pytest.mark.parametrize(
    ("setting", "named"),
    [('python = "nowhere/bin/python"', "nowhere/bin/python"), ('stub-paths = ["typings"]', "typings")],
    ids=["python-does-not-run", "stub-path-missing"],
)
def test_library_setting_errors_are_one_line(tmp_path: Path, setting: str, named: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.awaitguard]\n{setting}\n")
    (tmp_path / "a.py").write_text("import asyncio\n")
    code, _, stderr = scan(tmp_path, "--no-cache")
    assert code == 2
    assert stderr.count("\n") == 1 and named in stderr and "Traceback" not in stderr
    assert f"{tmp_path / 'pyproject.toml'}: " in stderr  # the file the setting is in


def test_a_broken_found_venv_falls_back_to_our_own_packages(tmp_path: Path) -> None:
    """A `.venv` found by looking (not configured) that cannot run is not the user's error."""
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text("not a program\n")
    (tmp_path / "a.py").write_text("import asyncio\n\n\nasync def f():\n    await asyncio.Event().set()\n")
    code, found, stderr = scan(tmp_path, "--no-cache")
    assert found == {("a.py", 5, "AG101")}, stderr
    assert code == 1


def test_cpython_own_test_package_is_never_a_library(tmp_path: Path) -> None:
    """`import test.x` means the project's own `test/` folder (here, one that is not a module of
    the project); CPython's regression suite, on every interpreter's path, is never read for it."""
    pytest.importorskip("test.support")  # some distributions ship CPython without its tests
    root = tmp_path / "project"
    (root / "checks").mkdir(parents=True)
    (root / "checks" / "test_app.py").write_text(
        "from test.support import gc_collect\n\n\nasync def test_collects():\n    await gc_collect()\n"
    )
    code, found, stderr = scan(root, "--no-cache")
    assert (code, found) == (0, set()), stderr


def test_async_names_read_from_bytes_are_whole_words(tmp_path: Path) -> None:
    """A library package's async names come from its bytes, never parsed: `async def NAME` as a whole
    word, also right after a longer word ending in `async` (the search goes on from the next byte)."""
    from awaitguard.libraries import Environment, Library

    package = tmp_path / "site" / "wordy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_bytes(b"async def opened(): ...\nx = 'notasync def hidden'\n")
    (package / "more.py").write_bytes(
        b"# xasync def async def fetched\n_async def skipped(): ...\nasync\tdef\tclosed(): ...\n"
    )
    library = Library(Environment((3, 11), "linux", (str(tmp_path / "site"),), None))
    assert library.package_names("wordy") == {"opened", "fetched", "closed"}


def test_a_typeshed_packages_names_are_kept_with_the_stubs_facts_without_a_cache(tmp_path: Path) -> None:
    """Without a cache (``--no-cache``), typeshed's async names of `asyncio` are read from its bytes once and
    kept in the stubs' store, which the next run reads instead; an installed package's never are."""
    import contextlib
    import pickle
    import sqlite3

    from awaitguard.cache import FactsCache
    from awaitguard.libraries import Library, environment

    site = tmp_path / "site"
    (site / "plainlib").mkdir(parents=True)
    (site / "plainlib" / "__init__.py").write_text("async def fetched(): ...\n")
    env = environment(tmp_path)._replace(paths=(str(site),))
    assert env.typeshed is not None
    kept = FactsCache(tmp_path / "kept")

    def names(top: str) -> frozenset[str]:
        return Library(env, stub_cache=kept).package_names(top)

    def rows() -> list[tuple[str, frozenset[str]]]:
        with contextlib.closing(sqlite3.connect(kept.path)) as conn:
            found = [(key, pickle.loads(value)) for key, value in conn.execute("SELECT key, value FROM facts")]
        return [(key, value) for key, value in found if isinstance(value, frozenset)]

    assert {"sleep", "open_connection"} <= names("asyncio")
    assert names("plainlib") == {"fetched"}
    ((key, value),) = rows()  # asyncio's, not plainlib's
    assert "open_connection" in value
    # read, not searched again: a made-up row in its place is what the next run gets
    with contextlib.closing(sqlite3.connect(kept.path)) as conn, conn:
        conn.execute("UPDATE facts SET value = ? WHERE key = ?", (pickle.dumps(frozenset({"made_up"})), key))
    assert names("asyncio") == {"made_up"}
    kept.close()


@pytest.mark.parametrize(
    ("hidden", "source"),
    [((), "typeshed_client"), (("typeshed_client",), "mypy"), (("typeshed_client", "mypy"), None)],
    ids=["typeshed_client-first", "else-mypy", "neither"],
)
def test_typeshed_comes_from_typeshed_client_else_mypy(
    tmp_path: Path, hidden: tuple[str, ...], source: str | None
) -> None:
    """The scanner's dependency ships typeshed; mypy's copy serves when only mypy is installed.

    A package is hidden by a same-named folder without stubs ahead of it on ``PYTHONPATH``; with
    neither copy, what only typeshed tells is unknown and nothing about it is reported."""
    shadow = tmp_path / "shadow"
    for name in hidden:
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])}
    probe = "from pathlib import Path; from awaitguard import libraries; print(libraries.environment(Path()).typeshed)"
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True).stdout
    if source is None:
        assert where.strip() == "None"
    else:
        assert Path(where.strip()).parts[-3 if source == "mypy" else -2] == source, where
        assert (Path(where.strip()) / "asyncio" / "locks.pyi").is_file()
    root = tmp_path / "project"
    root.mkdir()
    # `threading.Lock` is a C type: only typeshed says that `acquire` is a plain method
    (root / "a.py").write_text("import threading\n\n\nasync def f():\n    await threading.Lock().acquire()\n")
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "scan", "--all", "--no-cache", "--format", "json", "a.py"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    found = {(f["path"], f["line"], f["code"]) for f in json.loads(proc.stdout)["findings"]}
    assert found == (set() if source is None else {("a.py", 5, "AG101")}), proc.stderr
