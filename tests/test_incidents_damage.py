"""`awaitguard ingest` on damaged, mixed and hand-written input: 3.14 wordings, binary data, cut records,
huge lines, unmapped frames, path-map, later events and re-reads (never counted twice)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from awaitguard.cli import main
from awaitguard.incidents import store
from awaitguard.incidents.reader import ReadStats, read
from incidents_logs import project

INCIDENTS = ".awaitguard/incidents.toml"


def traceback(path: str, line: int, function: str, source: str, error: str, prefix: str = "") -> str:
    body = [
        "Traceback (most recent call last):",
        '  File "/usr/local/lib/python3.14/asyncio/runners.py", line 127, in run',
        "    return self._loop.run_until_complete(task)",
        f'  File "{path}", line {line}, in {function}',
        f"    {source}",
        error,
    ]
    return "".join(f"{prefix}{b}\n" for b in body)


AWAIT_314 = traceback(
    "/app/app/cases.py", 44, "c_await", "await get_manager()", "TypeError: 'Manager' object can't be awaited"
)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = project(tmp_path / "shop")
    monkeypatch.chdir(root)
    return root


def ingest(capsys: pytest.CaptureFixture[str], *logs: Path | str) -> str:
    assert main(["ingest", *map(str, logs)]) == 0
    return capsys.readouterr().err


def recorded(root: Path) -> dict[str, store.Incident]:
    return {i.function: i for i in store.load(root / INCIDENTS)}


def test_python_314_wordings(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """3.14 is not installed here: its wordings, as CPython 3.14's ceval and genobject write them."""
    log = tmp_path / "314.log"
    log.write_text(
        AWAIT_314
        + traceback(
            "/app/app/cases.py", 59, "c_awith", "async with open_lock():",
            "TypeError: '_GeneratorContextManager' object does not support the asynchronous context manager "
            "protocol (missed __aexit__ method) but it supports the context manager protocol. "
            "Did you mean to use 'with'?",
        )
        + traceback(
            "/app/app/cases.py", 64, "c_with", "with open_session():",
            "TypeError: '_AsyncGeneratorContextManager' object does not support the context manager protocol "
            "(missed __exit__ method) but it supports the asynchronous context manager protocol. "
            "Did you mean to use 'async with'?",
        )
        + "/app/app/cases.py:48: RuntimeWarning: coroutine 'refresh_index' was never awaited\n"
        "  refresh_index()\n"
        "RuntimeWarning: Enable tracemalloc to get the object allocation traceback\n",
        encoding="utf-8",
    )  # fmt: skip
    said = ingest(capsys, log)
    found = {f: (i.rule, i.kind, i.line, i.callee) for f, i in recorded(shop).items()}
    assert found == {
        "c_await": ("AG101", "await-not-awaitable", 44, "get_manager"),
        "c_awith": ("AG103", "async-with-on-sync", 59, "open_lock"),
        "c_with": ("AG103", "with-on-async", 64, "open_session"),
        "c_dropped": ("AG102", "coroutine-never-awaited", 48, "refresh_index"),
    }
    assert "4 async failures recognised" in said


def test_damage_keeps_what_came_before(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "damaged.log"
    cloud = {"severity": "ERROR", "timestamp": "2026-12-02T08:00:00Z", "message": AWAIT_314}
    with log.open("wb") as out:
        out.write(AWAIT_314.encode())  # recognised before the damage
        out.write(b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\n")  # binary
        out.write(json.dumps(cloud).encode()[:70] + b"\n")  # a cut JSON record
        out.write(b'{"severity": "ERROR", "message": 12, "exception": null}\n')  # JSON, nothing in it
        out.write(b"x" * (9 * 1024 * 1024) + b"\n")  # longer than a line may be
        out.write(b"[1, 2\n{not json at all}\n")
        out.write(json.dumps(cloud).encode() + b"\n")  # recognised after the damage
        out.write(AWAIT_314.encode()[:150])  # a traceback cut before its exception line, at the end
    said = ingest(capsys, log)
    incident = recorded(shop)["c_await"]
    assert (incident.count, incident.untimed, incident.last_seen) == (1, 1, "2026-12-02T08:00:00Z")
    assert "2 async failures recognised" in said
    skipped = [line for line in said.splitlines() if "skipped" in line]
    assert skipped == [
        "awaitguard ingest: skipped 2 malformed JSON lines, 1 line too long to read, 4 binary lines, "
        "1 traceback cut before its exception"
    ]


def test_reader_streams_in_bounded_lines() -> None:
    """A line longer than the limit is skipped without being kept; the lines around it are read."""
    data = (AWAIT_314 + "y" * 5000 + "\n" + AWAIT_314).encode()
    stats = ReadStats()
    events = list(read(io.BytesIO(data), stats, max_line=1024))
    assert [e.error for e in events] == ["TypeError: 'Manager' object can't be awaited"] * 2
    assert stats.huge_lines == 1


def test_mixed_prefixes_formats_and_unmapped(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "mixed.log"
    stdlib_only = traceback(
        "/usr/lib/python3.12/asyncio/base_events.py", 10, "run", "x", "RuntimeError: This event loop is already running"
    )
    ambiguous = traceback("/opt/svc/__init__.py", 1, "f", "await g()", "TypeError: 'G' object can't be awaited")
    changed = traceback("/app/app/cases.py", 3, "<module>", "x", "TypeError: 'G' object can't be awaited")
    not_async = traceback("/app/app/cases.py", 44, "c_await", "x", "KeyError: 'user'")
    log.write_text(
        "2026-12-01 09:00:00,000 INFO starting\n"
        + traceback("/app/app/cases.py", 44, "c_await", "await get_manager()", "TypeError: 'Manager' object can't be"
                    " awaited", prefix="2026-12-01 09:00:01,000 ERROR [worker-12] ")
        + json.dumps({"textPayload": stdlib_only, "timestamp": "2026-12-01T09:00:02Z"}) + "\n"
        + ambiguous + changed + not_async
        + "2026-12-01 09:00:03,000 INFO done\n",
        encoding="utf-8",
    )  # fmt: skip
    (shop / "other").mkdir()
    (shop / "other" / "__init__.py").write_text("", encoding="utf-8")
    said = ingest(capsys, log)
    assert recorded(shop)["c_await"].last_seen == "2026-12-01T09:00:01Z"
    assert said.splitlines()[1:5] == [
        "awaitguard ingest: 3 failures not mapped to the repository:",
        "    2 x no frame in the repository (e.g. RuntimeError: This event loop is already running; "
        "TypeError: 'G' object can't be awaited)",
        "    1 x the line does not hold the failing construct (await): the code changed since "
        "(e.g. TypeError: 'G' object can't be awaited)",
        "awaitguard ingest: 1 other error (not async failures) ignored",
    ]


def test_path_map(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shop / "pyproject.toml").write_text(
        '[tool.awaitguard.incidents]\npath-map = { "/deploy/current/" = "app/" }\n', encoding="utf-8"
    )
    log = tmp_path / "mapped.log"
    log.write_text(AWAIT_314.replace("/app/app/cases.py", "/deploy/current/cases.py"), encoding="utf-8")
    ingest(capsys, log)
    assert recorded(shop)["c_await"].path == "app/cases.py"


def test_bad_path_map_is_one_line(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shop / "pyproject.toml").write_text('[tool.awaitguard.incidents]\npath-map = ["/app/"]\n', encoding="utf-8")
    assert main(["ingest", "-"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`path-map` must be a dict" in err


def test_later_events_count_and_earlier_logs_never_double(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def cloud(*stamps: str) -> Path:
        log = tmp_path / f"{len(stamps)}-{stamps[0]}.log"
        log.write_text("".join(json.dumps({"timestamp": s, "message": AWAIT_314}) + "\n" for s in stamps))
        return log

    monday = cloud("2026-12-07T10:00:00Z", "2026-12-07T11:00:00Z")
    tuesday = cloud("2026-12-07T11:00:00Z", "2026-12-08T09:00:00Z", "2026-12-08T09:30:00Z")  # overlaps monday
    ingest(capsys, monday)
    ingest(capsys, tuesday)
    text = (shop / INCIDENTS).read_text(encoding="utf-8")
    incident = recorded(shop)["c_await"]
    assert (incident.count, incident.first_seen, incident.last_seen) == (
        4, "2026-12-07T10:00:00Z", "2026-12-08T09:30:00Z"
    )  # fmt: skip
    for log in (monday, tuesday, monday):
        assert "(0 new, 0 updated)" in ingest(capsys, log)
    assert (shop / INCIDENTS).read_text(encoding="utf-8") == text
    earlier = cloud("2026-12-01T10:00:00Z")
    ingest(capsys, earlier)
    incident = recorded(shop)["c_await"]
    assert (incident.count, incident.first_seen) == (4, "2026-12-01T10:00:00Z")  # moves first-seen back only


def test_standard_input_and_missing_file(shop: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "ingest", "-"], input=AWAIT_314.encode(), cwd=shop, capture_output=True
    )
    assert proc.returncode == 0 and b"1 async failure recognised" in proc.stderr
    assert recorded(shop)["c_await"].untimed == 1
    proc = subprocess.run([sys.executable, "-m", "awaitguard", "ingest", "nope.log"], cwd=shop, capture_output=True)
    assert (proc.returncode, proc.stderr) == (2, b"awaitguard ingest: error: nope.log: no such file\n")


def test_broken_incidents_file_is_one_line(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shop / ".awaitguard").mkdir()
    (shop / INCIDENTS).write_text("[[incident]]\nid = 3\n", encoding="utf-8")
    assert main(["ingest", "-"]) == 2
    assert capsys.readouterr().err == (f"awaitguard ingest: error: {shop / INCIDENTS}: incident 1: `kind` is missing\n")
