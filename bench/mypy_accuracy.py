"""``awaitguard mypy`` over real projects: every finding listed, for a verdict by hand (docs/mypy-accuracy.md).

    python bench/mypy_accuracy.py [--hooks DIR] PROJECT[:TARGET ...] [PROJECT[:TARGET ...] ...]

PROJECT is a git checkout (outside this repository); TARGET the paths to check in it (default: the
checkout's mypy ``files``). Each project is checked from its own directory, so its own mypy
configuration applies, with a fresh cache, by the Python running this script (a venv where the
project and its dependencies are installed) and awaitguard imported from ``--hooks`` (default: this
repository's ``hooks/``; pass an older checkout's ``hooks/`` to compare before/after). Prints
Markdown: per project the commit, mypy's version, the command, the counts by code and every finding.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

HOOKS = Path(__file__).resolve().parent.parent / "hooks"


def _git_sha(project: Path) -> str:
    proc = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "(not a git checkout)"


def _mypy_version() -> str:
    proc = subprocess.run(
        [sys.executable, "-c", "import mypy.version; print(mypy.version.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "(mypy not importable)"


def check(project: Path, targets: list[str], hooks: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as cache:
        command = ["awaitguard", "mypy", "--format", "json", "--cache-dir", cache, *targets]
        env = {**os.environ, "PYTHONPATH": str(hooks)}
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", *command], cwd=project, env=env, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - start
    document = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return {
        "project": project.name,
        "sha": _git_sha(project),
        "command": " ".join(["python -m awaitguard mypy --format json", *targets]),
        "exit": proc.returncode,
        "seconds": seconds,
        "stderr": proc.stderr.strip(),
        "findings": document.get("findings", []),
        "notices": [n["message"] for n in document.get("notices", []) + document.get("errors", [])],
    }


def report(results: list[dict[str, object]], hooks: Path) -> str:
    out = [f"mypy {_mypy_version()}, awaitguard from `{hooks}`", ""]
    out.append("| project | commit | command | exit | time | findings |")
    out.append("| --- | --- | --- | --- | --- | --- |")
    for result in results:
        findings = result["findings"]
        assert isinstance(findings, list)
        codes = Counter(str(f["code"]) for f in findings)
        by_code = ", ".join(f"{code} {n}" for code, n in sorted(codes.items())) or "0"
        out.append(
            f"| {result['project']} | {str(result['sha'])[:12]} | `{result['command']}` | {result['exit']} "
            f"| {float(str(result['seconds'])):.1f} s | {by_code} |"
        )
    for result in results:
        findings = result["findings"]
        assert isinstance(findings, list)
        out += ["", f"### {result['project']}", ""]
        for notice in result["notices"]:  # type: ignore[attr-defined]
            out.append(f"- notice: {notice}")
        said = [line for line in str(result["stderr"]).splitlines() if ": note: " not in line]  # notes: above
        if said:
            out.append(f"- stderr: {said[-1]}")
        for finding in findings:
            out.append(f"- `{finding['path']}:{finding['line']}` {finding['code']}: {finding['message']}")
            out.append(f"  - fix: {finding['fix']}")
            for related in finding.get("related", []):
                out.append(f"  - `{related['path']}:{related['line']}`: {related['message']}")
        if not findings:
            out.append("- no findings")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hooks", type=Path, default=HOOKS, help="the hooks/ folder awaitguard is imported from")
    parser.add_argument("projects", nargs="+", help="PROJECT[:TARGET[,TARGET...]]")
    ns = parser.parse_args(argv)
    results = []
    for spec in ns.projects:
        path, _, targets = spec.partition(":")
        project = Path(path).resolve()
        if not project.is_dir():
            print(f"mypy_accuracy: {path}: no such directory", file=sys.stderr)
            return 2
        results.append(check(project, [t for t in targets.split(",") if t], ns.hooks.resolve()))
    sys.stdout.write(report(results, ns.hooks.resolve()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
