"""`awaitguard ingest`: real failures from this machine's CPythons, in every log format, recorded byte for byte.

Golden files: tests/golden/incidents/cpython3.10.toml (3.10's wordings) and cpython3.11.toml (3.11-3.13
print the same). Every timestamped format must give exactly the golden bytes; the plain log (no
timestamps) gives the same incidents with ``untimed`` counts and no dates."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from awaitguard.cli import main
from incidents_logs import FORMATS, VERSIONS, WRITERS, find_python, plain, project, run_cases

GOLDEN = Path(__file__).parent / "golden" / "incidents"
INCIDENTS = ".awaitguard/incidents.toml"
_RUNS: dict[str, tuple[Path, dict[str, str]]] = {}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, str]]]:
    """version -> (the project the cases ran in, case -> real stderr); run once per interpreter."""
    if not _RUNS:
        for version in VERSIONS:
            python = find_python(version)
            if python is not None:
                root = project(tmp_path_factory.mktemp(f"run{version}") / "shop")
                _RUNS[version] = (root, run_cases(python, root))
    return _RUNS


def ingest(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *logs: str) -> str:
    monkeypatch.chdir(root)
    assert main(["ingest", *logs]) == 0
    return capsys.readouterr().err


def golden(version: str) -> str:
    return (GOLDEN / ("cpython3.10.toml" if version == "3.10" else "cpython3.11.toml")).read_text(encoding="utf-8")


def untimed(text: str) -> str:
    """The golden file as a log without timestamps gives it: no dates, counts as ``untimed``."""
    text = re.sub(r"^(first-seen|last-seen|recent) = .*\n", "", text, flags=re.M)
    return re.sub(r"^count = (\d+)$", r"untimed = \1", text, flags=re.M)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_real_failures_in_each_format_give_the_golden_file(
    runs: dict[str, tuple[Path, dict[str, str]]],
    version: str,
    fmt: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if version not in runs:
        pytest.skip(f"CPython {version} is not installed here")
    ran_in, stderr = runs[version]
    root = project(tmp_path / "shop")
    log = tmp_path / f"{fmt}.log"
    log.write_text(WRITERS[fmt](stderr, ran_in), encoding="utf-8")
    said = ingest(root, monkeypatch, capsys, str(log))
    assert (root / INCIDENTS).read_text(encoding="utf-8") == golden(version), said
    recorded = golden(version).count("[[incident]]")
    assert f"({recorded} new, 0 updated)" in said  # a new incident is not also counted as updated
    # a second ingest of the same log changes nothing, not even the file's bytes
    before = (root / INCIDENTS).stat().st_mtime_ns
    said = ingest(root, monkeypatch, capsys, str(log))
    assert (root / INCIDENTS).read_text(encoding="utf-8") == golden(version)
    assert (root / INCIDENTS).stat().st_mtime_ns == before
    assert "(0 new, 0 updated)" in said and f"{INCIDENTS} unchanged" in said


@pytest.mark.parametrize("version", VERSIONS)
def test_a_plain_log_has_no_dates(
    runs: dict[str, tuple[Path, dict[str, str]]],
    version: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if version not in runs:
        pytest.skip(f"CPython {version} is not installed here")
    ran_in, stderr = runs[version]
    root = project(tmp_path / "shop")
    log = tmp_path / "plain.log"
    log.write_text(plain(stderr, ran_in), encoding="utf-8")
    said = ingest(root, monkeypatch, capsys, str(log), str(log))  # the same log twice in one run: counted once
    assert (root / INCIDENTS).read_text(encoding="utf-8") == untimed(golden(version))
    # the warnings with no location in the project (`sys:1`, asyncio's own frame without an origin)
    assert "not mapped to the repository" in said and "no frame in the repository" in said


def test_the_cases_fail_as_the_golden_file_says(runs: dict[str, tuple[Path, dict[str, str]]]) -> None:
    """The fixture programs really fail (the suite's own interpreter at least)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    _, stderr = runs[version]
    assert "can't be used in 'await' expression" in stderr["await"]
    assert "Coroutine created at (most recent call last)" in stderr["kept_origin"]
    assert "cannot be called from a running event loop" in stderr["nested"]
    assert "TypeError: 'coroutine' object is not callable" in stderr["called"]


WAITED = """\
import asyncio


class Manager:
    pass


def get_manager():
    return Manager()


async def main():
    await asyncio.wait_for(get_manager(), 1)


asyncio.run(main())
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_a_plain_value_handed_to_wait_for_is_the_same_incident_on_every_python(
    version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Up to 3.11 `wait_for` refuses the value (`An asyncio.Future, a coroutine or an awaitable is required`);
    3.12+ awaits it inside asyncio (`object Manager can't be used in 'await' expression`, raised in asyncio's
    frame): either way the incident is the value handed at the app's line, AG111, not the app's own `await`."""
    python = find_python(version)
    if python is None:
        pytest.skip(f"CPython {version} is not installed here")
    root = tmp_path / "svc"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'svc'\n", encoding="utf-8")
    (root / "waited.py").write_text(WAITED, encoding="utf-8")
    ran = subprocess.run([python, "waited.py"], cwd=root, capture_output=True, text=True, check=False)
    assert ran.returncode == 1 and "TypeError" in ran.stderr
    (root / "prod.log").write_text(ran.stderr.replace(str(root), "/app"), encoding="utf-8")
    ingest(root, monkeypatch, capsys, "prod.log")
    text = (root / INCIDENTS).read_text(encoding="utf-8")
    assert text.count("[[incident]]") == 1
    for line in ('kind = "awaitable-expected"', 'rule = "AG111"', "line = 13", 'callee = "get_manager"'):
        assert f"\n{line}\n" in text
