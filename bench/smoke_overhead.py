"""Overhead of an awaitguard smoke run over plain pytest on a generated async test suite.

Usage: python bench/smoke_overhead.py [--modules 20] [--tests 25] [--repeat 3]
       python bench/smoke_overhead.py --project DIR --python DIR/venv/bin/python [--repeat 3] [-- PYTEST ARGS]

Writes a small project to a temporary folder: ``svc`` (async services with typed sync helpers) and
tests that await, patch with ``AsyncMock``/``autospec``, use ``monkeypatch`` and ``mocker``. Runs
``pytest -q`` on it, plain and with ``--awaitguard --awaitguard-packages=svc``, in alternation,
and prints the median wall times and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULE = """
import asyncio


def scale(value: int, factor: int = 2) -> int:
    return value * factor


async def fetch(key: str) -> int:
    await asyncio.sleep(0)
    return len(key)


class Store:
    def __init__(self) -> None:
        self.data: dict[str, int] = {{}}

    async def load(self, key: str) -> int:
        self.data[key] = scale(await fetch(key))
        return self.data[key]


async def handler_{index}(key: str) -> int:
    return await Store().load(key)
"""

TEST = """
from unittest import mock

import pytest

from svc import mod_{index} as mod


@pytest.mark.parametrize("key", [f"k{{n}}" for n in range({tests})])
async def test_handler(key: str) -> None:
    assert await mod.handler_{index}(key) == 2 * len(key)


async def test_patched_fetch() -> None:
    with mock.patch.object(mod, "fetch", return_value=5):
        assert await mod.Store().load("x") == 10


def test_autospec_scale() -> None:
    with mock.patch.object(mod, "scale", autospec=True, return_value=1):
        assert mod.scale(3) == 1


async def test_monkeypatch(monkeypatch: pytest.MonkeyPatch, mocker) -> None:
    async def fake(key: str) -> int:
        return 1

    monkeypatch.setattr(mod, "fetch", fake)
    mocker.patch.object(mod, "scale", return_value=7)
    assert await mod.Store().load("y") == 7
"""

PYPROJECT = """
[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
pythonpath = ["."]
"""


def write_project(root: Path, modules: int, tests: int) -> None:
    (root / "svc").mkdir()
    (root / "svc" / "__init__.py").write_text("")
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    for index in range(modules):
        (root / "svc" / f"mod_{index}.py").write_text(MODULE.format(index=index))
        (root / "tests" / f"test_mod_{index}.py").write_text(TEST.format(index=index, tests=tests))


def run(root: Path, extra: list[str], python: str = sys.executable, allow_failures: bool = False) -> float:
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ((0, 1) if allow_failures else (0,)):
        raise SystemExit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed


def real_suite(project: Path, python: str, repeat: int, pytest_args: list[str]) -> int:
    """Plain pytest vs `--awaitguard` on an existing project's own test suite (its failures allowed)."""
    run(project, pytest_args, python, allow_failures=True)  # warm the import caches
    plain: list[float] = []
    guarded: list[float] = []
    for _ in range(repeat):
        plain.append(run(project, pytest_args, python, allow_failures=True))
        guarded.append(run(project, [*pytest_args, "--awaitguard"], python, allow_failures=True))
    p, g = statistics.median(plain), statistics.median(guarded)
    print(f"project: {project}, repeats: {repeat}")
    print(f"plain pytest:      median {p:.2f} s  ({', '.join(f'{t:.2f}' for t in plain)})")
    print(f"awaitguard smoke:  median {g:.2f} s  ({', '.join(f'{t:.2f}' for t in guarded)})")
    print(f"overhead ratio:    {g / p:.2f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=20)
    parser.add_argument("--tests", type=int, default=25, help="parametrized async tests per module")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--project", type=Path, help="time this project's own suite instead of a generated one")
    parser.add_argument("--python", default=sys.executable, help="the project's interpreter (with awaitguard)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments for --project (after --)")
    args = parser.parse_args()
    if args.project is not None:
        return real_suite(args.project, args.python, args.repeat, args.pytest_args)
    smoke = ["--awaitguard", "--awaitguard-packages=svc"]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_project(root, args.modules, args.tests)
        count = args.modules * (args.tests + 3)
        run(root, [])  # warm the import caches
        plain: list[float] = []
        guarded: list[float] = []
        for _ in range(args.repeat):
            plain.append(run(root, []))
            guarded.append(run(root, smoke))
    p, g = statistics.median(plain), statistics.median(guarded)
    print(f"tests: {count} ({args.modules} modules), repeats: {args.repeat}")
    print(f"plain pytest:      median {p:.2f} s  ({', '.join(f'{t:.2f}' for t in plain)})")
    print(f"awaitguard smoke:  median {g:.2f} s  ({', '.join(f'{t:.2f}' for t in guarded)})")
    print(f"overhead ratio:    {g / p:.2f}x  (+{(g - p) * 1000 / count:.2f} ms per test)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
