"""Stream a generated production log of ``--gigabytes`` through ``awaitguard ingest -`` and report time
and peak memory (not a unit test; docs/incidents.md records the figures).

The log is written straight into the child's standard input, never to disk: request lines, a Cloud
Logging record, an OpenTelemetry span, a Sentry event or a prefixed plain traceback every
``--every`` lines (real wordings, all mapped onto tests/fixtures/incidents), damage (binary data, a
cut JSON record, a 2 MiB line) every 50,000 lines. Python stdlib only.

    python bench/ingest_big.py --gigabytes 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "incidents"

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.12/asyncio/runners.py", line 118, in run\n'
    "    return self._loop.run_until_complete(task)\n"
    '  File "/app/app/cases.py", line 44, in c_await\n'
    "    await get_manager()\n"
    "TypeError: object Manager can't be used in 'await' expression\n"
)
WARNING = (
    "/app/app/cases.py:48: RuntimeWarning: coroutine 'refresh_index' was never awaited\n"
    "  refresh_index()\n"
    "RuntimeWarning: Enable tracemalloc to get the object allocation traceback\n"
)


def stamp(second: int) -> str:
    day, rest = divmod(second, 86400)
    return f"2026-11-{1 + day % 28:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z"


def records(limit: int, every: int) -> Iterator[bytes]:
    written = 0
    n = 0
    while written < limit:
        n += 1
        now = stamp(n // 20)
        if n % 50_000 == 0:
            chunk = (
                b"\x00\xff\xfe garbage \x89PNG\n"
                + b'{"severity": "ERROR", "message": "Trace\n'
                + b"z" * 2_097_152
                + b"\n"
            )
        elif n % every == 0:
            choice = (n // every) % 4
            if choice == 0:
                chunk = json.dumps({"severity": "ERROR", "timestamp": now, "message": TRACEBACK}).encode() + b"\n"
            elif choice == 1:
                attributes = {"exception.type": "TypeError", "exception.message": "", "exception.stacktrace": TRACEBACK}
                chunk = json.dumps({"events": [{"timeUnixNano": n, "attributes": attributes}]}).encode() + b"\n"
            elif choice == 2:
                frame = {"filename": "app/cases.py", "abs_path": "/srv/shop/app/cases.py", "lineno": 44,
                         "function": "c_await", "in_app": True}  # fmt: skip
                value = {"type": "TypeError", "value": "'Manager' object can't be awaited",
                         "stacktrace": {"frames": [frame]}}  # fmt: skip
                chunk = json.dumps({"timestamp": now, "exception": {"values": [value]}}).encode() + b"\n"
            else:
                chunk = "".join(f"{now} web.1 app[{n % 9000}]: {line}\n" for line in WARNING.splitlines()).encode()
        else:
            request = f'INFO 10.0.0.{n % 255} "GET /items/{n} HTTP/1.1" 200 {n % 5000}'
            chunk = f"{now} web.1 app[{n % 9000}]: {request}\n".encode()
        written += len(chunk)
        yield chunk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--every", type=int, default=2000, help="one failure every N lines")
    parser.add_argument("--awaitguard", default=shutil.which("awaitguard") or "awaitguard")
    opts = parser.parse_args()
    limit = int(opts.gigabytes * 1024**3)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "shop"
        shutil.copytree(FIXTURE, root)
        (root / "pyproject.toml").write_text("[project]\nname = 'shop'\n", encoding="utf-8")
        start = time.perf_counter()
        child = subprocess.Popen(
            [opts.awaitguard, "ingest", "-"], cwd=root, stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert child.stdin is not None
        total = 0
        for chunk in records(limit, opts.every):
            child.stdin.write(chunk)
            total += len(chunk)
        child.stdin.close()
        err = child.stderr.read().decode() if child.stderr else ""
        code = child.wait()
        seconds = time.perf_counter() - start
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        incidents = (root / ".awaitguard" / "incidents.toml").read_text(encoding="utf-8")
    print(f"streamed {total / 1024**3:.2f} GiB in {seconds:.1f} s ({total / 1024**2 / seconds:.0f} MiB/s), "
          f"exit {code}, peak RSS of `awaitguard ingest` {peak_kib / 1024:.0f} MiB, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(err, end="")
    print(f"incidents recorded: {incidents.count('[[incident]]')}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
