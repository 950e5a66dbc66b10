#!/usr/bin/env python3
"""Speed benchmark of ``awaitguard scan`` against ``ruff check --select ASYNC`` on one large tree.

Stdlib only. The tree (a git repository with a clean work tree) lives outside this repo; see
``bench/README.md``. Everything runs cold: ``--no-cache`` for both tools, and every scenario leaves the
tree as it found it (``git reset --hard``).

Scenarios, each run ``--repeat`` times (best and median reported):

* ``ruff``: ``ruff check --select ASYNC --no-cache <tree>``, the yardstick of every ratio;
* ``full``: ``awaitguard scan --all --no-cache --format json`` in the tree;
* ``typical``: three real modules that hold ``async def`` get one more line each and are staged, then
  ``awaitguard scan --no-cache --format json`` (the pre-commit hook's default, index against HEAD);
* ``flip``: ``async def get_websocket_manager`` in ``svc/ws/factory.py`` becomes ``def``, staged, then the
  same scan; the AG101 findings must name the 255 ``await get_websocket_manager(...)`` call sites;
* ``docs``: a Markdown file added and staged, no Python file (the hook runs on every commit), then the
  same scan;
* ``typical-warm``, ``flip-warm``: the same two commits with the cache on, filled by one untimed
  ``scan --all`` first (a user's next commit once the hook has run);
* ``libs``: each library of ``--libs`` scanned whole and cold, paired with ruff and the CPython parse
  floor (``bench/libs.py``); needs no ``--tree``.

Output is Markdown on stdout, for pasting into the README.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from libs import report_libs, run_libs

DEFAULT_TREE = Path("/work/benchdata/tree")
DEFAULT_AWAITGUARD = "/work/venv/bin/awaitguard"
DEFAULT_RUFF = "/work/venv/bin/ruff"
DEFAULT_LIBS = Path("/work/benchdata/libs")

# Targets, as ratios to ruff's full-tree wall time (best of runs), and the memory ceiling.
TARGET_FULL = 10.0
TARGET_TYPICAL = 0.5
TARGET_FLIP = 2.0
TARGET_RSS_MB = 2048.0

FACTORY = "svc/ws/factory.py"
ASYNC_DEF = "async def get_websocket_manager("
SYNC_DEF = "def get_websocket_manager("
ROUTE_MODULES = 85
HANDLERS_PER_MODULE = 3
EXPECTED_CALL_SITES = ROUTE_MODULES * HANDLERS_PER_MODULE
STYLES = ("direct", "module", "alias", "reexport")
GIT_ID = ("-c", "user.name=b", "-c", "user.email=b@b")

# --------------------------------------------------------------------------------------------------
# The synthetic service package


_INIT_SVC = '"""A websocket service: the synthetic part of the awaitguard benchmark tree."""\n'

_INIT_WS = '''"""Websocket plumbing; ``get_websocket_manager`` is re-exported for the route modules."""

from svc.ws.factory import get_websocket_manager
from svc.ws.manager import WebSocketManager

__all__ = ["WebSocketManager", "get_websocket_manager"]
'''

_MANAGER = '''"""One manager per namespace: tracks connections and fans messages out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any, Protocol


class Connection(Protocol):
    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000) -> None: ...


class WebSocketManager:
    def __init__(self, namespace: str, timeout: float = 5.0) -> None:
        self.namespace = namespace
        self.timeout = timeout
        self._rooms: dict[str, set[Connection]] = {}
        self._lock = asyncio.Lock()

    async def join(self, room: str, conn: Connection) -> int:
        async with self._lock:
            members = self._rooms.setdefault(room, set())
            members.add(conn)
            return len(members)

    async def leave(self, room: str, conn: Connection) -> None:
        async with self._lock:
            self._rooms.get(room, set()).discard(conn)

    def members(self, room: str) -> Iterable[Connection]:
        return tuple(self._rooms.get(room, ()))

    async def broadcast(self, room: str, payload: dict[str, Any]) -> int:
        data = json.dumps(payload, separators=(",", ":"))
        conns = self.members(room)
        await asyncio.wait_for(
            asyncio.gather(*(c.send_text(data) for c in conns), return_exceptions=True), self.timeout
        )
        return len(conns)

    async def close_room(self, room: str, code: int = 1000) -> None:
        for conn in self.members(room):
            await conn.close(code)
        async with self._lock:
            self._rooms.pop(room, None)
'''

_FACTORY = '''"""Where route handlers get their ``WebSocketManager`` from."""

from __future__ import annotations

from svc.ws.manager import WebSocketManager

_MANAGERS: dict[str, WebSocketManager] = {}


async def get_websocket_manager(namespace: str = "default", *, timeout: float = 5.0) -> WebSocketManager:
    """The manager of ``namespace``, made on first use."""
    manager = _MANAGERS.get(namespace)
    if manager is None:
        manager = _MANAGERS[namespace] = WebSocketManager(namespace, timeout=timeout)
    return manager


def reset_managers() -> None:
    _MANAGERS.clear()
'''

_IMPORTS = {
    "direct": ("from svc.ws.factory import get_websocket_manager", "get_websocket_manager"),
    "module": ("from svc.ws import factory", "factory.get_websocket_manager"),
    "alias": ("from svc.ws.factory import get_websocket_manager as gwm", "gwm"),
    "reexport": ("from svc.ws import get_websocket_manager", "get_websocket_manager"),
}

_TOPICS = (
    "rooms",
    "chat",
    "presence",
    "orders",
    "alerts",
    "metrics",
    "billing",
    "inventory",
    "tickets",
    "deploys",
    "builds",
    "logs",
    "search",
    "profiles",
    "feeds",
    "votes",
    "games",
    "quotes",
    "trades",
)


def route_style(index: int) -> str:
    return STYLES[index % len(STYLES)]


def route_module(index: int) -> str:
    style = route_style(index)
    import_line, call = _IMPORTS[style]
    topic = _TOPICS[index % len(_TOPICS)]
    ns = f"{topic}-{index:02d}"
    return f'''"""Routes of the {topic} area, shard {index:02d}."""

from __future__ import annotations

from typing import Any

from libs import report_libs, run_libs

{import_line}


class Request:
    def __init__(self, user: str, room: str, body: dict[str, Any]) -> None:
        self.user = user
        self.room = room
        self.body = body


async def join_{topic}(request: Request, conn: Any) -> dict[str, Any]:
    mgr = await {call}("{ns}")
    size = await mgr.join(request.room, conn)
    return {{"room": request.room, "members": size}}


async def publish_{topic}(request: Request) -> dict[str, Any]:
    mgr = await {call}("{ns}", timeout={1 + index % 5}.0)
    sent = await mgr.broadcast(request.room, {{"from": request.user, **request.body}})
    return {{"delivered": sent}}


async def close_{topic}(request: Request, code: int = 1000) -> None:
    if not request.room:
        return
    await (await {call}(namespace="{ns}")).close_room(request.room, code)
'''


def synthetic_files() -> dict[str, str]:
    files = {
        "svc/__init__.py": _INIT_SVC,
        "svc/ws/__init__.py": _INIT_WS,
        "svc/ws/manager.py": _MANAGER,
        FACTORY: _FACTORY,
        "svc/api/__init__.py": '"""HTTP and websocket routes."""\n',
    }
    for i in range(ROUTE_MODULES):
        files[f"svc/api/routes_{i:02d}.py"] = route_module(i)
    return files


def git(tree: Path, *args: str, capture: bool = False) -> str:
    done = subprocess.run(
        ["git", *GIT_ID, "-C", str(tree), *args],
        check=True,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
    )
    return done.stdout.decode() if capture else ""


def prepare(tree: Path, force: bool) -> None:
    """Write ``svc/`` (and make the tree a git repository) unless it is there already."""
    if not (tree / ".git").exists():
        git(tree, "init", "-q", "-b", "main")
    files = synthetic_files()
    if not force and all((tree / p).is_file() for p in files):
        print(f"<!-- prepare: {tree}/svc present, left alone -->")
        return
    if (tree / "svc").exists():
        shutil.rmtree(tree / "svc")
    for rel, text in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(tree, "add", "-A")
    if git(tree, "status", "--porcelain", capture=True).strip():
        git(tree, "commit", "--no-gpg-sign", "-q", "-m", "bench: synthetic svc package")
    print(f"<!-- prepare: wrote {len(files)} files under {tree}/svc and committed -->")


# --------------------------------------------------------------------------------------------------
# Running a command: wall time and peak RSS of its whole process tree


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler(threading.Thread):
    """Polls /proc for the summed RSS of a process and all its descendants; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.peak_single_kb = 0
        self.max_procs = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pids, todo = [], [self.pid]
            while todo:
                p = todo.pop()
                pids.append(p)
                todo.extend(_children(p))
            rss = [_rss_kb(p) for p in pids]
            self.peak_kb = max(self.peak_kb, sum(rss))
            self.peak_single_kb = max(self.peak_single_kb, max(rss, default=0))
            self.max_procs = max(self.max_procs, sum(1 for r in rss if r))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class Run:
    wall: float
    returncode: int
    stdout: bytes
    stderr: bytes
    cpu: float  # user + system seconds of the process and its reaped descendants
    maxrss_mb: float  # largest single process (wait4 rusage)
    peak_rss_mb: float
    peak_single_mb: float
    procs: int


def run_cmd(argv: Sequence[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> Run:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, start_new_session=True, env=env)
        sampler = RssSampler(proc.pid)
        sampler.start()
        killer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        killer.start()
        # wait4: the rusage covers the child and every descendant it reaped (a process pool's workers).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        out.seek(0)
        err.seek(0)
        return Run(
            wall=wall,
            returncode=proc.returncode,
            stdout=out.read(),
            stderr=err.read(),
            cpu=usage.ru_utime + usage.ru_stime,
            maxrss_mb=usage.ru_maxrss / 1024,
            peak_rss_mb=sampler.peak_kb / 1024,
            peak_single_mb=sampler.peak_single_kb / 1024,
            procs=sampler.max_procs,
        )


# --------------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Scenario:
    name: str
    command: str
    runs: list[Run] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    file_errors: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ruff_walls: list[float] = field(default_factory=list)  # ``paired``: ruff's wall just before each run

    @property
    def pair_ratios(self) -> list[float]:
        if not self.ruff_walls:
            return []
        return [run.wall / ruff for run, ruff in zip(self.runs, self.ruff_walls, strict=True)]

    @property
    def walls(self) -> list[float]:
        return [r.wall for r in self.runs]

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak_rss(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)


def parse_json(run: Run, scenario: Scenario) -> dict[str, Any] | None:
    try:
        data = json.loads(run.stdout)
    except (json.JSONDecodeError, UnicodeDecodeError):
        tail = (run.stderr or run.stdout).decode(errors="replace").strip().splitlines()[-25:]
        scenario.errors.append(f"exit {run.returncode}, no JSON on stdout; stderr tail:\n" + "\n".join(tail))
        return None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        scenario.errors.append(f"exit {run.returncode}, JSON without a findings list: {str(data)[:300]}")
        return None
    return data


def record(run: Run, scenario: Scenario) -> None:
    scenario.runs.append(run)
    data = parse_json(run, scenario)
    if data is None:
        return
    scenario.findings = data["findings"]
    scenario.stats = {k: v for k, v in data.items() if k not in ("findings", "errors", "notices")}
    errors = data.get("errors")
    if isinstance(errors, list):
        scenario.stats["errors"] = len(errors)
        scenario.file_errors = errors
    stderr = run.stderr.decode(errors="replace")
    stats_lines = [ln for ln in stderr.splitlines() if "files in scope" in ln or "parsed" in ln]
    if stats_lines:
        scenario.stats["--stats"] = stats_lines[-1].strip()


def clean(tree: Path) -> None:
    git(tree, "reset", "--hard", "-q")


def check_clean(tree: Path) -> None:
    dirty = git(tree, "status", "--porcelain", "--untracked-files=no", capture=True).strip()
    if dirty:
        sys.exit(f"{tree} has uncommitted changes; commit or `git reset --hard` them first:\n{dirty[:500]}")


def warm_page_cache(tree: Path) -> None:
    """Read every file once so neither tool pays for the first disk read."""
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def tree_counts(tree: Path) -> tuple[int, int]:
    files = lines = 0
    for rel in git(tree, "ls-files", "-z", "--", "*.py", capture=True).split("\0"):
        if rel:
            files += 1
            with open(tree / rel, "rb") as fh:
                lines += sum(1 for _ in fh)
    return files, lines


def async_modules(tree: Path) -> list[str]:
    out = git(tree, "grep", "-l", "-z", "-F", "async def", "--", "*.py", ":!svc", capture=True)
    return sorted(p for p in out.split("\0") if p)


def jobs(args: argparse.Namespace) -> list[str]:
    return [] if args.jobs is None else ["--jobs", str(args.jobs)]


def ruff_argv(args: argparse.Namespace) -> list[str]:
    return [
        args.ruff,
        "check",
        "--select",
        "ASYNC",
        "--no-cache",
        "--output-format",
        "concise",
        "--exit-zero",
        str(args.tree),
    ]


def run_ruff(args: argparse.Namespace) -> Scenario:
    sc = Scenario("ruff", f"{Path(args.ruff).name} check --select ASYNC --no-cache <tree>")
    for _ in range(args.ruff_repeat):
        run = run_cmd(ruff_argv(args), args.tree, args.timeout)
        sc.runs.append(run)
        if run.returncode != 0:
            sc.errors.append(run.stderr.decode(errors="replace")[-2000:])
        found = [ln for ln in run.stdout.decode(errors="replace").splitlines() if ": ASYNC" in ln]
        sc.stats = {"findings": len(found)}
    return sc


def paired(args: argparse.Namespace, sc: Scenario) -> None:
    """A ruff run just before each awaitguard run: the VM's speed drifts by a quarter within minutes,
    and a ratio of two runs a second apart is steadier than one of runs minutes apart."""
    sc.ruff_walls.append(run_cmd(ruff_argv(args), args.tree, args.timeout).wall)


def run_full(args: argparse.Namespace) -> Scenario:
    sc = Scenario("full", "awaitguard scan --all --no-cache --format json --stats")
    for _ in range(args.repeat):
        paired(args, sc)
        record(
            run_cmd(
                [args.awaitguard, "scan", "--all", "--no-cache", "--format", "json", "--stats", *jobs(args)],
                args.tree,
                args.timeout,
            ),
            sc,
        )
        if sc.errors:
            break
    return sc


def run_full_cached(args: argparse.Namespace, keep_project: bool) -> Scenario:
    """`scan --all` with the cache on: library facts warm (``lib/`` kept), the project's facts cold or warm.

    One untimed run fills a fresh cache folder; before each timed run the project's part of the cache
    is deleted (``full-lib-warm``, what a first scan of a project costs once the libraries are known)
    or kept (``full-warm``, a second scan with nothing changed).
    """
    name = "full-warm" if keep_project else "full-lib-warm"
    sc = Scenario(name, f"awaitguard scan --all --format json --stats (cache on: {name[5:]})")
    with tempfile.TemporaryDirectory(prefix="awaitguard-bench-cache-") as cache:
        env = {**os.environ, "AWAITGUARD_CACHE_DIR": cache}
        argv = [args.awaitguard, "scan", "--all", "--format", "json", "--stats", *jobs(args)]
        run_cmd(argv, args.tree, args.timeout, env)  # fills the cache
        for _ in range(args.repeat):
            if not keep_project:
                for entry in Path(cache).iterdir():
                    if entry.name not in ("lib", "stubs"):
                        shutil.rmtree(entry)
            paired(args, sc)
            record(run_cmd(argv, args.tree, args.timeout, env), sc)
            if sc.errors:
                break
    return sc


@contextlib.contextmanager
def commit_cache(args: argparse.Namespace, warm: bool) -> Iterator[tuple[dict[str, str] | None, list[str]]]:
    """The environment and flags of a diff-scoped scenario's scans: cold (`--no-cache`), or ``warm``: a fresh cache
    folder filled by one untimed `scan --all` (a user's next commit, once the hook has run before)."""
    if not warm:
        yield None, ["--no-cache"]
        return
    with tempfile.TemporaryDirectory(prefix="awaitguard-bench-cache-") as cache:
        env = {**os.environ, "AWAITGUARD_CACHE_DIR": cache}
        run_cmd([args.awaitguard, "scan", "--all", "--format", "json", *jobs(args)], args.tree, args.timeout, env)
        yield env, []


def run_typical(args: argparse.Namespace, candidates: list[str], warm: bool = False) -> Scenario:
    name, cache = ("typical-warm", "cache on, warm") if warm else ("typical", "--no-cache")
    sc = Scenario(name, f"3 modules edited and staged; awaitguard scan --format json --stats ({cache})")
    rng = random.Random(args.seed)
    try:
        with commit_cache(args, warm) as (env, flags):
            for i in range(args.repeat):
                picked = rng.sample(candidates, 3)
                for rel in picked:
                    with open(args.tree / rel, "a", encoding="utf-8") as fh:
                        fh.write(f"\n_BENCH_EDIT_{i} = {rng.randrange(1 << 30)}\n")
                git(args.tree, "add", "--", *picked)
                argv = [args.awaitguard, "scan", *flags, "--format", "json", "--stats", *jobs(args)]
                record(run_cmd(argv, args.tree, args.timeout, env), sc)
                sc.notes.append(f"run {i + 1}: {', '.join(picked)} -> {len(sc.findings)} findings")
                clean(args.tree)
                if sc.errors:
                    break
    finally:
        clean(args.tree)
    return sc


def run_docs(args: argparse.Namespace) -> Scenario:
    sc = Scenario("docs", "a Markdown file added and staged; awaitguard scan --no-cache --format json --stats")
    try:
        for i in range(args.repeat):
            (args.tree / "BENCH_NOTES.md").write_text(f"note {i}\n", encoding="utf-8")
            git(args.tree, "add", "--", "BENCH_NOTES.md")
            argv = [args.awaitguard, "scan", "--no-cache", "--format", "json", "--stats", *jobs(args)]
            record(run_cmd(argv, args.tree, args.timeout, None), sc)
            clean(args.tree)  # (a staged new file goes too)
            if sc.errors:
                break
    finally:
        clean(args.tree)
    return sc


def run_flip(args: argparse.Namespace, warm: bool = False) -> Scenario:
    name, cache = ("flip-warm", "cache on, warm") if warm else ("flip", "--no-cache")
    sc = Scenario(name, f"{FACTORY}: async def -> def, staged; awaitguard scan --format json --stats ({cache})")
    path = args.tree / FACTORY
    try:
        with commit_cache(args, warm) as (env, flags):
            for _ in range(args.repeat):
                text = path.read_text(encoding="utf-8")
                if ASYNC_DEF not in text:
                    sc.errors.append(f"{FACTORY} has no `{ASYNC_DEF}`; run with --prepare")
                    break
                path.write_text(text.replace(ASYNC_DEF, SYNC_DEF), encoding="utf-8")
                git(args.tree, "add", "--", FACTORY)
                argv = [args.awaitguard, "scan", *flags, "--format", "json", "--stats", *jobs(args)]
                record(run_cmd(argv, args.tree, args.timeout, env), sc)
                clean(args.tree)
                if sc.errors:
                    break
    finally:
        clean(args.tree)
    return sc


# --------------------------------------------------------------------------------------------------
# Report


def fmt_ratio(value: float, target: float | None) -> str:
    mark = "" if target is None else (" ✅" if value <= target else " ❌")
    return f"{value:.2f}x{mark}"


def flip_breakdown(sc: Scenario) -> tuple[int, dict[str, int], list[str]]:
    """AG101 findings in svc/api, per import style of the route module, and any elsewhere."""
    per_style: Counter[str] = Counter()
    elsewhere: list[str] = []
    total = 0
    for f in sc.findings:
        if f.get("code") != "AG101":
            continue
        total += 1
        p = str(f.get("path", ""))
        name = p.rsplit("/", 1)[-1]
        if "svc/api/routes_" in p and name[7:9].isdigit():
            per_style[route_style(int(name[7:9]))] += 1
        else:
            elsewhere.append(f"{p}:{f.get('line')}")
    return total, dict(per_style), elsewhere


def report(args: argparse.Namespace, scenarios: list[Scenario], files: int, lines: int) -> None:
    ruff = scenarios[0]
    base_best, base_med = ruff.best, ruff.median
    print("## Benchmark\n")
    cpus, plat, pyver = os.cpu_count(), platform.platform(), platform.python_version()
    print(f"- machine: {cpus} CPUs (nproc), {plat}, Python {pyver}")
    versions = []
    for exe in (args.ruff, args.awaitguard):
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
            text = out.stdout.strip() if out.returncode == 0 else ""
            name = Path(exe).name
            versions.append(text.splitlines()[0] if text else f"{name} --version: exit {out.returncode}")
        except (OSError, subprocess.SubprocessError):
            versions.append(f"{exe}: ?")
    print(f"- tools: {'; '.join(versions)}")
    print(f"- tree: `{args.tree}`, {files:,} Python files, {lines:,} lines (git ls-files, wc -l)")
    print(
        f"- {args.repeat} runs per awaitguard scenario ({args.ruff_repeat} of ruff), "
        "all cold (`--no-cache`), page cache warm; "
        "ratios are to ruff's full-tree wall time (best/best, median/median); "
        "the full scans also run ruff just before each run: paired ratios are each run's wall over "
        "that ruff run's (best and median of the runs), steadier when the VM's speed drifts"
    )
    print(
        "- peak RSS: summed RSS of the process and all its descendants, sampled every 20 ms from /proc "
        "(in brackets: the largest single process, from wait4 rusage); CPU s: user+sys of the process "
        "and its reaped descendants, median of runs (steadier than wall on a noisy VM)\n"
    )
    targets = {
        "ruff": None,
        "full": TARGET_FULL,
        "full-lib-warm": TARGET_FULL,
        "full-warm": TARGET_FULL,
        "typical": TARGET_TYPICAL,
        "typical-warm": TARGET_TYPICAL,
        "docs": TARGET_TYPICAL,
        "flip": TARGET_FLIP,
        "flip-warm": TARGET_FLIP,
    }
    print(
        "| scenario | command | best s | median s | ratio best | ratio median | paired ratio best, median | "
        "target | CPU s | peak RSS MB (largest proc) | findings |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for sc in scenarios:
        if not sc.runs:
            print(f"| {sc.name} | {sc.command} | — | — | — | — | — | — | — | — | not run |")
            continue
        target = targets.get(sc.name)
        if sc.errors and sc.name != "ruff":
            print(
                f"| {sc.name} | `{sc.command}` | {sc.best:.2f} | {sc.median:.2f} | error | error | — | "
                f"{'' if target is None else f'≤ {target}x'} | {statistics.median(r.cpu for r in sc.runs):.1f} | "
                f"{sc.peak_rss:,.0f} ({max(r.maxrss_mb for r in sc.runs):,.0f}) | error |"
            )
            continue
        nfind: object = sc.stats.get("findings") if sc.name == "ruff" else len(sc.findings)
        if sc.errors:
            nfind = "error"
        cpu = statistics.median(r.cpu for r in sc.runs)
        rss = f"{sc.peak_rss:,.0f} ({max(r.maxrss_mb for r in sc.runs):,.0f})"
        if sc.name == "full":
            rss += " ✅" if sc.peak_rss < TARGET_RSS_MB else " ❌"
        pairs = sc.pair_ratios
        paired_cell = (
            f"{fmt_ratio(min(pairs), target)}, {fmt_ratio(statistics.median(pairs), target)}" if pairs else "—"
        )
        print(
            f"| {sc.name} | `{sc.command}` | {sc.best:.2f} | {sc.median:.2f} | "
            f"{fmt_ratio(sc.best / base_best, target)} | {fmt_ratio(sc.median / base_med, target)} | {paired_cell} | "
            f"{'' if target is None else f'≤ {target}x'} | {cpu:.1f} | {rss} | {nfind} |"
        )
    print()
    for sc in scenarios:
        walls = ", ".join(f"{w:.2f}" for w in sc.walls)
        cpu_runs = ", ".join(f"{r.cpu:.2f}" for r in sc.runs)
        procs = max((r.procs for r in sc.runs), default=0)
        print(
            f"- {sc.name}: wall {walls} s; CPU {cpu_runs} s; exit codes {[r.returncode for r in sc.runs]}; "
            f"up to {procs} processes at once"
        )
        if sc.ruff_walls:
            shown = ", ".join(f"{r:.2f}" for r in sc.ruff_walls)
            ratios = ", ".join(f"{r:.2f}x" for r in sc.pair_ratios)
            print(f"  - ruff just before each run: {shown} s; paired ratios {ratios}")
        if sc.name != "ruff" and sc.stats:
            print(f"  - stats from JSON: `{json.dumps(sc.stats)[:600]}`")
        for note in sc.notes:
            print(f"  - {note}")
        if sc.file_errors:
            shown = "; ".join(
                f"{e.get('path')}:{e.get('line')} {e.get('message')}" if isinstance(e, dict) else str(e)
                for e in sc.file_errors[:5]
            )
            print(f"  - {len(sc.file_errors)} per-file errors in the JSON, e.g. {shown}")
        for err in sc.errors:
            print("  - ERROR:\n\n```\n" + err + "\n```\n")
    for sc in scenarios:
        if sc.name in ("flip", "flip-warm") and sc.runs and not sc.errors:
            total, per_style, elsewhere = flip_breakdown(sc)
            ok = "✅" if sum(per_style.values()) >= 253 else "❌"
            expected = Counter(route_style(i) for i in range(ROUTE_MODULES))
            styles = ", ".join(f"{s} {per_style.get(s, 0)}/{expected[s] * HANDLERS_PER_MODULE}" for s in STYLES)
            outside = f"; outside svc/api: {len(elsewhere)} ({', '.join(elsewhere[:5])})" if elsewhere else ""
            print(
                f"\n{sc.name}: {total} AG101 findings, {sum(per_style.values())} in svc/api {ok} "
                f"(call sites: {EXPECTED_CALL_SITES}, need >= 253); by import style: {styles}{outside}"
            )
            codes = Counter(str(f.get("code")) for f in sc.findings)
            print(f"{sc.name} findings by code: {dict(codes.most_common())}")
        if sc.name == "full" and sc.runs and not sc.errors:
            codes = Counter(str(f.get("code")) for f in sc.findings)
            print(f"\nFull scan findings by code: {dict(codes.most_common())}")
            roots = Counter(str(f.get("path", "")).split("/", 1)[0] for f in sc.findings)
            print(f"Full scan findings by top folder: {dict(roots.most_common())}")
            sample = random.Random(args.seed).sample(sc.findings, min(args.sample, len(sc.findings)))
            if sample:
                print(f"\nSample of {len(sample)} full-scan findings:\n")
                for f in sorted(sample, key=lambda f: (str(f.get("path")), int(f.get("line", 0)))):
                    extra = {k: v for k, v in f.items() if k not in ("code", "path", "line")}
                    print(f"- `{f.get('path')}:{f.get('line')}` {f.get('code')} {json.dumps(extra)[:300]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tree", type=Path, default=DEFAULT_TREE, help="git repository to scan")
    parser.add_argument("--prepare", action="store_true", help="(re)write and commit the synthetic svc/")
    parser.add_argument("--awaitguard", default=DEFAULT_AWAITGUARD)
    parser.add_argument("--ruff", default=DEFAULT_RUFF)
    parser.add_argument("--repeat", type=int, default=3, help="runs per awaitguard scenario (default 3)")
    parser.add_argument("--ruff-repeat", type=int, default=5, help="runs of ruff (default 5)")
    parser.add_argument("--jobs", type=int, help="passed to awaitguard scan --jobs (default: its own)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("full", "full-lib-warm", "full-warm", "typical", "typical-warm", "docs", "flip", "flip-warm", "libs"),
        help="awaitguard scenarios to run (default all; ruff always runs on the tree, unless only libs)",
    )
    parser.add_argument(
        "--libs",
        type=Path,
        nargs="+",
        default=[DEFAULT_LIBS],
        help="for libs: git repositories to scan whole, or a folder of them (default /work/benchdata/libs)",
    )
    parser.add_argument(
        "--baseline",
        help="for libs: another awaitguard (e.g. an older checkout's) run in the same rounds: before/after",
    )
    parser.add_argument("--seed", type=int, default=20240601, help="picks the typical commit's files")
    parser.add_argument("--sample", type=int, default=10, help="full-scan findings to print")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per command")
    args = parser.parse_args(argv)
    wanted = args.only or [
        *("full", "full-lib-warm", "full-warm", "typical", "typical-warm", "docs", "flip", "flip-warm", "libs")
    ]
    libs = lib_paths(args.libs) if "libs" in wanted else []
    if args.only and "libs" in wanted and not libs:
        parser.error(f"--libs {' '.join(map(str, args.libs))}: no git repository there")
    if wanted == ["libs"]:
        run_libs_only(args, libs)
        return 0
    args.tree = args.tree.resolve()
    if not args.tree.is_dir():
        parser.error(f"{args.tree}: no such directory")
    if args.prepare or not (args.tree / FACTORY).is_file():
        prepare(args.tree, force=args.prepare)
    check_clean(args.tree)
    files, lines = tree_counts(args.tree)
    warm_page_cache(args.tree)
    scenarios = [run_ruff(args)]
    if "full" in wanted:
        scenarios.append(run_full(args))
    if "full-lib-warm" in wanted:
        scenarios.append(run_full_cached(args, keep_project=False))
    if "full-warm" in wanted:
        scenarios.append(run_full_cached(args, keep_project=True))
    for warm in (False, True):
        if ("typical-warm" if warm else "typical") in wanted:
            scenarios.append(run_typical(args, async_modules(args.tree), warm))
    if "docs" in wanted:
        scenarios.append(run_docs(args))
    for warm in (False, True):
        if ("flip-warm" if warm else "flip") in wanted:
            scenarios.append(run_flip(args, warm))
    report(args, scenarios, files, lines)
    if libs:
        done = run_libs(libs, args.awaitguard, args.ruff, args.repeat, args.timeout, run_cmd, args.baseline)
        report_libs(done, args.repeat)
    return 0


def lib_paths(given: list[Path]) -> list[Path]:
    """The git repositories of ``given``: each path that is one, else the repositories inside it."""
    found: list[Path] = []
    for path in given:
        path = path.resolve()
        if (path / ".git").exists():
            found.append(path)
        elif path.is_dir():
            found += sorted(p for p in path.iterdir() if (p / ".git").exists())
    return found


def run_libs_only(args: argparse.Namespace, libs: list[Path]) -> None:
    print("## Benchmark: whole libraries\n")
    print(f"- machine: {os.cpu_count()} CPUs (nproc), {platform.platform()}, Python {platform.python_version()}")
    versions = []
    for exe in (args.ruff, args.awaitguard):
        done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
        versions.append(done.stdout.strip().splitlines()[0] if done.stdout.strip() else f"{exe}: ?")
    print(f"- tools: {'; '.join(versions)}")
    print(f"- load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    libs_done = run_libs(libs, args.awaitguard, args.ruff, args.repeat, args.timeout, run_cmd, args.baseline)
    print(f"- load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report_libs(libs_done, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
