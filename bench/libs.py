"""The ``libs`` scenario of ``bench/run.py``: whole async libraries scanned cold, each paired with ruff
and with the CPython parse floor.

Each library is a git repository of its own (an exported snapshot; see ``bench/README.md``). A round
times, for every library in turn and a second apart: the parse floor (every ``*.py`` file that
``git ls-files`` lists, read and given to ``ast.parse`` once, in one process, only the loop timed),
``ruff check --select ASYNC --no-cache`` and ``awaitguard scan --all --no-cache --format json``. The
ratios are paired: each awaitguard run over the floor and the ruff run of its own round, so a
drift of the VM's speed between rounds cancels out. With ``--baseline`` (another awaitguard, e.g. an
older checkout), it runs in the same rounds, just before awaitguard (then just after, every other
round): a before/after table, with whether the two JSON outputs are byte-identical.

awaitguard runs as an installed copy does: with its bytecode compiled (``PYTHONPYCACHEPREFIX``, a
folder of this run, filled by one untimed run per library; ``PYTHONDONTWRITEBYTECODE`` dropped),
whatever the calling environment says, and typeshed's and the shipped stubs' facts kept (in
``AWAITGUARD_CACHE_DIR``, the same folder) by that run. Stdlib only.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Targets: at most this many times the parse floor; over BIG_LINES lines, at most this many times ruff.
TARGET_FLOOR = 2.0
TARGET_RUFF = 10.0
BIG_LINES = 100_000

# The parse floor, run with the Python that runs this script: prints the wall and CPU seconds of the
# parse loop (CPU: steadier when other processes share the cores).
_FLOOR = """
import ast, subprocess, sys, time
root = sys.argv[1]
listed = subprocess.run(["git", "-C", root, "ls-files", "-z", "--", "*.py"], capture_output=True, check=True)
paths = [root + "/" + p for p in listed.stdout.decode().split("\\0") if p]
start, cpu = time.perf_counter(), time.process_time()
for path in paths:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        ast.parse(data)
    except (SyntaxError, ValueError):
        pass
print(time.perf_counter() - start, time.process_time() - cpu)
"""


@dataclass
class Library:
    path: Path
    files: int = 0
    lines: int = 0
    floor: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)
    ruff_cpu: list[float] = field(default_factory=list)
    ruff: list[float] = field(default_factory=list)
    scans: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    findings: int | None = None
    errors: list[str] = field(default_factory=list)
    base_scans: list[float] = field(default_factory=list)  # --baseline's runs, paired with ``scans``
    base_cpu: list[float] = field(default_factory=list)
    same_output: bool = True  # every baseline run printed the same JSON as awaitguard's run of its round

    @property
    def name(self) -> str:
        return self.path.name

    def to_floor(self) -> list[float]:
        return [scan / floor for scan, floor in zip(self.scans, self.floor, strict=False)]

    def to_ruff(self) -> list[float]:
        return [scan / ruff for scan, ruff in zip(self.scans, self.ruff, strict=False)]

    def cpu_to_floor(self) -> list[float]:
        return [scan / floor for scan, floor in zip(self.cpu, self.floor_cpu, strict=False)]

    def cpu_to_ruff(self) -> list[float]:
        return [scan / ruff for scan, ruff in zip(self.cpu, self.ruff_cpu, strict=False)]

    def base_cpu_to_floor(self) -> list[float]:
        return [scan / floor for scan, floor in zip(self.base_cpu, self.floor_cpu, strict=False)]

    def base_to_floor(self) -> list[float]:
        return [scan / floor for scan, floor in zip(self.base_scans, self.floor, strict=False)]

    def base_to_ruff(self) -> list[float]:
        return [scan / ruff for scan, ruff in zip(self.base_scans, self.ruff, strict=False)]

    def to_base(self) -> list[float]:
        return [scan / base for scan, base in zip(self.scans, self.base_scans, strict=False)]


def count(path: Path) -> tuple[int, int]:
    listed = subprocess.run(["git", "-C", str(path), "ls-files", "-z", "--", "*.py"], capture_output=True, check=True)
    files = lines = 0
    for rel in listed.stdout.decode().split("\0"):
        if rel:
            files += 1
            with open(path / rel, "rb") as handle:
                lines += sum(1 for _ in handle)
    return files, lines


def scan_env(pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    # typeshed's and the shipped stubs' facts, which `--no-cache` keeps, as an installed copy keeps them
    # after its first scan: in this run's folder, filled by the untimed run
    env["AWAITGUARD_CACHE_DIR"] = os.path.join(pycache, "awaitguard-cache")
    return env


def run_libs(
    paths: Sequence[Path],
    awaitguard: str,
    ruff: str,
    repeat: int,
    timeout: float,
    run_cmd: Any,
    baseline: str | None = None,
) -> list[Library]:
    libs = [Library(p) for p in paths]
    with tempfile.TemporaryDirectory(prefix="awaitguard-bench-pyc-") as pycache:
        env = scan_env(pycache)
        scan = [awaitguard, "scan", "--all", "--no-cache", "--format", "json"]
        base_scan = [baseline, *scan[1:]] if baseline else []
        ruff_argv = [ruff, "check", "--select", "ASYNC", "--no-cache", "--output-format", "concise", "--exit-zero", "."]
        for lib in libs:
            lib.files, lib.lines = count(lib.path)
            run_cmd(scan, lib.path, timeout, env)  # untimed: bytecode written, page cache warm
            if base_scan:
                run_cmd(base_scan, lib.path, timeout, env)
        for round_ in range(repeat):
            for lib in libs:
                if lib.errors:
                    continue
                floor = run_cmd([sys.executable, "-c", _FLOOR, str(lib.path)], lib.path, timeout, None)
                wall, cpu = floor.stdout.decode().split()
                lib.floor.append(float(wall))
                lib.floor_cpu.append(float(cpu))
                ruff_run = run_cmd(ruff_argv, lib.path, timeout, None)
                lib.ruff.append(ruff_run.wall)
                lib.ruff_cpu.append(ruff_run.cpu)
                base = None
                if base_scan and round_ % 2 == 0:
                    base = run_cmd(base_scan, lib.path, timeout, env)
                run = run_cmd(scan, lib.path, timeout, env)
                if base_scan and round_ % 2 == 1:
                    base = run_cmd(base_scan, lib.path, timeout, env)
                if base is not None:
                    lib.base_scans.append(base.wall)
                    lib.base_cpu.append(base.cpu)
                    lib.same_output = lib.same_output and base.stdout == run.stdout
                try:
                    data = json.loads(run.stdout)
                    lib.findings = len(data["findings"])
                except (ValueError, KeyError, TypeError):
                    tail = run.stderr.decode(errors="replace").strip().splitlines()[-10:]
                    lib.errors.append(f"exit {run.returncode}, no JSON findings; stderr tail: " + " / ".join(tail))
                    continue
                lib.scans.append(run.wall)
                lib.cpu.append(run.cpu)
    return libs


def _pair(values: list[float], target: float | None) -> str:
    if not values:
        return "—"
    best, median = min(values), statistics.median(values)
    mark = "" if target is None else (" ✅" if median <= target else " ❌")
    return f"{best:.2f}x / {median:.2f}x{mark}"


def _bm(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f}" if values else "—"


def report_libs(libs: list[Library], repeat: int) -> None:
    print("\n### Whole libraries, cold\n")
    print(
        f"{repeat} rounds; in each, per library and a second apart: the parse floor (`ast.parse` of every "
        "`*.py` file, one process, the loop timed), `ruff check --select ASYNC --no-cache .` and "
        "`awaitguard scan --all --no-cache --format json` (bytecode compiled, as installed). Seconds as "
        "best / median; ratios paired (each scan over the floor and ruff run of its round), best / median; "
        f"targets: ≤ {TARGET_FLOOR:g}x the floor, and ≤ {TARGET_RUFF:g}x ruff over {BIG_LINES:,} lines "
        "(✅ on the median). CPU: user+sys seconds (of the whole process tree; the floor's loop alone), "
        "medians, and their paired ratios: steadier than wall time when other processes share the cores.\n"
    )
    print(
        "| library | files | lines | parse floor s | ruff s | awaitguard s | ÷ floor | ÷ ruff | "
        "CPU s: floor / ruff / awaitguard | CPU ÷ floor | CPU ÷ ruff | findings |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for lib in libs:
        ruff_target = TARGET_RUFF if lib.lines > BIG_LINES else None
        cpu = " / ".join(f"{statistics.median(v):.2f}" if v else "—" for v in (lib.floor_cpu, lib.ruff_cpu, lib.cpu))
        print(
            f"| {lib.name} | {lib.files:,} | {lib.lines:,} | {_bm(lib.floor)} | {_bm(lib.ruff)} | {_bm(lib.scans)} | "
            f"{_pair(lib.to_floor(), TARGET_FLOOR)} | {_pair(lib.to_ruff(), ruff_target)} | {cpu} | "
            f"{_pair(lib.cpu_to_floor(), TARGET_FLOOR)} | {_pair(lib.cpu_to_ruff(), ruff_target)} | "
            f"{'error' if lib.errors else lib.findings} |"
        )
    print()
    if any(lib.base_scans for lib in libs):
        print(
            "Before / after: the baseline awaitguard ran in the same rounds (seconds best / median; ratios "
            "paired within a round, best / median; CPU s: medians, user+sys of the process tree).\n"
        )
        print(
            "| library | baseline s | awaitguard s | after ÷ before | ÷ floor before -> after | "
            "÷ ruff before -> after | CPU s before -> after | CPU ÷ floor before -> after | same JSON |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for lib in libs:
            if not lib.base_scans:
                continue
            cpu = f"{statistics.median(lib.base_cpu):.2f} -> {statistics.median(lib.cpu):.2f}"
            print(
                f"| {lib.name} | {_bm(lib.base_scans)} | {_bm(lib.scans)} | {_pair(lib.to_base(), None)} | "
                f"{_pair(lib.base_to_floor(), None)} -> {_pair(lib.to_floor(), TARGET_FLOOR)} | "
                f"{_pair(lib.base_to_ruff(), None)} -> {_pair(lib.to_ruff(), None)} | {cpu} | "
                f"{_pair(lib.base_cpu_to_floor(), None)} -> {_pair(lib.cpu_to_floor(), TARGET_FLOOR)} | "
                f"{'yes' if lib.same_output else 'NO'} |"
            )
        print()
    for lib in libs:
        runs = ", ".join(f"{s:.3f}" for s in lib.scans)
        floors = ", ".join(f"{x:.2f}x" for x in lib.to_floor())
        print(f"- {lib.name}: awaitguard {runs} s; over the floor of the same round {floors}")
        for err in lib.errors:
            print(f"  - ERROR: {err}")
