"""Plain mypy vs ``awaitguard mypy`` on the same files: error counts and wall times.

    python bench/mypy_compare.py PATH [PATH ...]   (run from the tree's root)

Both runs start cold (fresh cache dirs under bench/work/, which is git-ignored) and use the
tree's own mypy configuration. Fetched code bases stay outside the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: mypy_compare.py PATH [PATH ...]", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as plain_cache, tempfile.TemporaryDirectory() as guard_cache:
        plain_s, plain = _timed([sys.executable, "-m", "mypy", "-O", "json", "--cache-dir", plain_cache, *paths])
        guard_s, guard = _timed(
            [
                sys.executable,
                "-m",
                "awaitguard.mypy_plugin.hook",
                "--format",
                "json",
                "--cache-dir",
                guard_cache,
                *paths,
            ]
        )
        warm_s, _ = _timed(
            [
                sys.executable,
                "-m",
                "awaitguard.mypy_plugin.hook",
                "--format",
                "json",
                "--cache-dir",
                guard_cache,
                *paths,
            ]
        )
    records = [json.loads(line) for line in plain.stdout.splitlines() if line.startswith("{")]
    plain_errors = [r for r in records if r.get("severity") == "error"]
    document = json.loads(guard.stdout) if guard.stdout.strip() else {"findings": [], "errors": []}
    codes = Counter(f["code"] for f in document["findings"])
    print(f"plain mypy:       {len(plain_errors):5d} errors   {plain_s:6.1f} s (exit {plain.returncode})")
    print(
        f"awaitguard mypy:  {len(document['findings']):5d} findings {guard_s:6.1f} s (exit {guard.returncode}),"
        f" warm {warm_s:.1f} s"
    )
    print("  by code: " + ", ".join(f"{code} {n}" for code, n in sorted(codes.items())))
    for notice in document.get("errors", []):
        print(f"  notice: {notice['message']}")
    if guard.stderr.strip():
        print("  stderr: " + guard.stderr.strip().splitlines()[-1])
    for finding in document["findings"][:15]:
        print(f"  {finding['path']}:{finding['line']}: {finding['code']} {finding['message'][:110]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
