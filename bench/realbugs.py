"""Real-bug corpus: async bugs public projects fixed, scanned at the parent (recall) and at the fix.

usage: python bench/realbugs.py [--only REPO] [--awaitguard PATH] [--pyright PATH] [--mypy PATH]
                                [--mirrors DIR] [--work DIR] [--no-pyright] [--no-mypy] [--details]

A slow benchmark, not a test: CI never runs it. Each bug in ``bench/realbugs.toml`` names a repository,
the fix commit, its parent, the file, the buggy line at the parent (``line``..``end``) and the same
statement at the fix (``fix_line``..``fix_end``), and the awaitguard codes that describe it. Every tree
is exported from a local mirror (``MIRRORS/owner+name/repo``, a git dir as the search tool's ``fetch``
leaves it) into ``WORK`` (default ``bench/work/realbugs``, gitignored), made a git repository, and
scanned whole with ``awaitguard scan --all --no-cache --format json``. pyright (``--outputjson``) and
``mypy --check-untyped-defs`` run on the bug files of the same tree, with no dependency installed; their
outputs are cached in ``WORK`` (they do not change while awaitguard does). A tool hits a bug when it
reports at the buggy lines: awaitguard with one of the bug's codes; a type checker with a message about
awaiting, coroutines or the with/for protocols, or one that the fix made go away (e.g. "argument after **
must be a mapping" for a coroutine unpacked). Prints a Markdown report on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "realbugs.toml"
# a type checker's message counts as a hit only when it is about the async misuse itself
ASYNC_MESSAGE = re.compile(
    r"await|coroutine|__a?enter__|__a?exit__|__a?iter__|__anext__|__next__|\"with\"|\"for\"|async", re.IGNORECASE
)
GIT_ID = ["-c", "user.name=realbugs", "-c", "user.email=realbugs@localhost", "-c", "commit.gpgsign=false"]


@dataclass(frozen=True)
class Bug:
    id: str
    repo: str
    fix: str
    parent: str
    path: str
    line: int
    end: int
    fix_line: int
    fix_end: int
    codes: tuple[str, ...]
    kind: str
    what: str


@dataclass
class Hits:
    """What each tool reported at a bug's lines, per tree: tool -> (commit, path) -> line -> messages."""

    found: dict[str, dict[tuple[str, str], dict[int, list[str]]]]

    def at(self, tool: str, commit: str, path: str, first: int, last: int) -> list[str]:
        lines = self.found.get(tool, {}).get((commit, path), {})
        return [message for line in range(first, last + 1) for message in lines.get(line, [])]


def load(path: Path) -> list[Bug]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    bugs = []
    for item in data["bug"]:
        bugs.append(
            Bug(
                id=item["id"],
                repo=item["repo"],
                fix=item["fix"],
                parent=item["parent"],
                path=item["path"],
                line=item["line"],
                end=item.get("end", item["line"]),
                fix_line=item["fix_line"],
                fix_end=item.get("fix_end", item["fix_line"]),
                codes=tuple(item["codes"]),
                kind=item["kind"],
                what=item["what"],
            )
        )
    return bugs


def mirror_of(mirrors: Path, repo: str) -> Path | None:
    folder = mirrors / repo.replace("/", "+")
    for candidate in (folder / "repo", folder):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def run(cmd: Sequence[str], cwd: Path | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def export(gitdir: Path, commit: str, dest: Path) -> Path:
    """The tree at ``commit`` as a one-commit git repository (kept between runs)."""
    done = dest / ".realbugs-exported"
    if done.is_file():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", f"--git-dir={gitdir}", "archive", commit], stdout=subprocess.PIPE)
    unpack = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=False)
    if archive.wait() != 0 or unpack.returncode != 0:
        raise SystemExit(f"realbugs: cannot export {commit} from {gitdir}")
    for step in (["init", "-q"], ["add", "-A", "-f", "."], [*GIT_ID, "commit", "-q", "--no-verify", "-m", "tree"]):
        result = run(["git", *step], cwd=dest)
        if result.returncode != 0:
            raise SystemExit(f"realbugs: git {step[0]} failed in {dest}: {result.stderr.strip()}")
    done.write_text(commit + "\n", encoding="utf-8")
    return dest


def awaitguard_findings(exe: str, tree: Path) -> dict[str, dict[int, list[str]]]:
    result = run([exe, "scan", "--all", "--no-cache", "--format", "json"], cwd=tree)
    try:
        findings = json.loads(result.stdout)["findings"]
    except (json.JSONDecodeError, KeyError):
        raise SystemExit(f"realbugs: awaitguard failed in {tree}: {result.stderr.strip()[-500:]}") from None
    if result.returncode not in (0, 1):  # files it could not parse (newer syntax): scanned without them
        print(f"realbugs: awaitguard in {tree}: {result.stderr.strip().splitlines()[0]}", file=sys.stderr)
    found: dict[str, dict[int, list[str]]] = {}
    for finding in findings:
        found.setdefault(finding["path"], {}).setdefault(finding["line"], []).append(finding["code"])
    return found


def pyright_findings(exe: str, tree: Path, paths: list[str]) -> dict[str, dict[int, list[str]]]:
    # the interpreter running this script (a venv holding awaitguard only): no project dependency is seen
    result = run([exe, "--outputjson", "--pythonpath", sys.executable, *paths], cwd=tree)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"realbugs: pyright gave no JSON in {tree}: {result.stderr.strip()[-500:]}") from None
    found: dict[str, dict[int, list[str]]] = {}
    for diagnostic in report.get("generalDiagnostics", []):
        if diagnostic.get("severity") not in ("error", "warning"):
            continue
        path = Path(diagnostic["file"]).resolve().relative_to(tree.resolve()).as_posix()
        line = diagnostic["range"]["start"]["line"] + 1
        text = f"{diagnostic.get('rule', '-')}: {diagnostic['message'].splitlines()[0]}"
        found.setdefault(path, {}).setdefault(line, []).append(text)
    return found


MYPY_LINE = re.compile(r"^(?P<path>[^:\n]+\.pyi?):(?P<line>\d+):(?:\d+:)? error: (?P<message>.*)$", re.M)


def mypy_findings(exe: str, tree: Path, paths: list[str]) -> dict[str, dict[int, list[str]]]:
    cache = tree.parent / (tree.name + ".mypy_cache")
    cmd = [exe, "--check-untyped-defs", "--follow-imports=silent", "--ignore-missing-imports"]
    cmd += ["--python-executable", sys.executable]
    cmd += ["--no-error-summary", "--show-column-numbers", "--no-pretty", "--cache-dir", str(cache), *paths]
    result = run(cmd, cwd=tree)
    if result.returncode not in (0, 1):
        return {}  # mypy could not check this tree at all (e.g. a duplicate module): no hits
    found: dict[str, dict[int, list[str]]] = {}
    for match in MYPY_LINE.finditer(result.stdout):
        path = Path(match["path"]).as_posix()
        found.setdefault(path, {}).setdefault(int(match["line"]), []).append(match["message"])
    return found


def cached(store: Path, compute: Callable[[], dict[str, dict[int, list[str]]]]) -> dict[str, dict[int, list[str]]]:
    if store.is_file():
        data: dict[str, dict[str, list[str]]] = json.loads(store.read_text(encoding="utf-8"))
        return {path: {int(line): msgs for line, msgs in lines.items()} for path, lines in data.items()}
    found = compute()
    store.write_text(json.dumps(found), encoding="utf-8")
    return found


def async_hits(messages: list[str]) -> list[str]:
    return [message for message in messages if ASYNC_MESSAGE.search(message)]


def find_tool(given: str | None, name: str) -> str | None:
    if given:
        return given
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", help="only this repository (owner/name or name); repeatable")
    parser.add_argument("--awaitguard", help="awaitguard executable (default: beside this Python, else PATH)")
    parser.add_argument("--pyright", help="pyright executable (default: PATH; `npm install pyright` brings one)")
    parser.add_argument("--mypy", help="mypy executable (default: beside this Python, else PATH)")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"), help="folder of owner+name mirrors")
    parser.add_argument("--work", type=Path, default=HERE / "work" / "realbugs", help="exported trees and caches")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-pyright", action="store_true")
    parser.add_argument("--no-mypy", action="store_true")
    parser.add_argument("--details", action="store_true", help="list every tool's messages at each bug line")
    args = parser.parse_args(argv)

    bugs = load(args.corpus)
    if args.only:
        wanted = {name.lower() for name in args.only}
        bugs = [bug for bug in bugs if bug.repo.lower() in wanted or bug.repo.split("/")[1].lower() in wanted]
        if not bugs:
            print(f"realbugs: no bug of {', '.join(args.only)} in {args.corpus}", file=sys.stderr)
            return 2
    mirrors = {repo: mirror_of(args.mirrors, repo) for repo in sorted({bug.repo for bug in bugs})}
    missing = [repo for repo, gitdir in mirrors.items() if gitdir is None]
    if missing:
        print(
            f"realbugs: {len(missing)} mirror(s) missing under {args.mirrors}, their bugs are skipped:", file=sys.stderr
        )
        for repo in missing:
            print(f"  {repo}  (bring it with the fetch tool: github:{repo})", file=sys.stderr)
        bugs = [bug for bug in bugs if mirrors[bug.repo] is not None]
        if not bugs:
            return 2
    awaitguard = find_tool(args.awaitguard, "awaitguard")
    if awaitguard is None:
        print("realbugs: no awaitguard executable (give --awaitguard PATH)", file=sys.stderr)
        return 2
    tools: dict[str, str] = {}
    for name, skip, given in (("pyright", args.no_pyright, args.pyright), ("mypy", args.no_mypy, args.mypy)):
        exe = None if skip else find_tool(given, name)
        if exe is not None:
            tools[name] = exe
        elif not skip:
            print(f"realbugs: no {name} found, its column is left out (give --{name} PATH)", file=sys.stderr)

    trees: dict[tuple[str, str], list[str]] = {}
    for bug in bugs:
        for commit in (bug.parent, bug.fix):
            paths = trees.setdefault((bug.repo, commit), [])
            if bug.path not in paths:
                paths.append(bug.path)
    hits = Hits(found={})
    versions = {
        name: re.sub(r"[^\w.-]+", "_", run([exe, "--version"]).stdout.strip())[:40] for name, exe in tools.items()
    }
    for number, ((repo, commit), paths) in enumerate(sorted(trees.items()), 1):
        print(f"[{number}/{len(trees)}] {repo} {commit[:12]}", file=sys.stderr)
        gitdir = mirrors[repo]
        assert gitdir is not None
        tree = export(gitdir, commit, args.work / repo.replace("/", "+") / commit[:12])
        for path, lines in awaitguard_findings(awaitguard, tree).items():
            hits.found.setdefault("awaitguard", {})[(commit, path)] = lines
        present = [path for path in paths if (tree / path).is_file()]
        for name, exe in tools.items():
            key = hashlib.sha1("\0".join(sorted(present)).encode()).hexdigest()[:10]  # the files checked
            store = tree.parent / f"{tree.name}.{name}.{versions[name]}.{key}.json"
            compute = pyright_findings if name == "pyright" else mypy_findings
            found = cached(store, lambda: compute(exe, tree, present))  # noqa: B023 (called at once)
            for path, lines in found.items():
                hits.found.setdefault(name, {})[(commit, path)] = lines
    sys.stdout.write(report(bugs, hits, list(tools), args.details))
    return 0


def mark(hit: bool) -> str:
    return "yes" if hit else "·"


def report(bugs: list[Bug], hits: Hits, checkers: list[str], details: bool) -> str:
    def ag(bug: Bug, commit: str, first: int, last: int) -> list[str]:
        return [code for code in hits.at("awaitguard", commit, bug.path, first, last) if code in bug.codes]

    def checker(tool: str, bug: Bug) -> tuple[list[str], list[str]]:
        """A type checker's messages that count at the parent (about the misuse, or gone with the fix)
        and those still there after the fix (about the misuse)."""
        before = hits.at(tool, bug.parent, bug.path, bug.line, bug.end)
        after = hits.at(tool, bug.fix, bug.path, bug.fix_line, bug.fix_end)
        return [m for m in before if ASYNC_MESSAGE.search(m) or m not in after], async_hits(after)

    head = ["bug", "repo", "kind", "expected", "awaitguard", "after fix"]
    for tool in checkers:
        head += [tool, f"{tool} after fix"]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    totals: dict[str, int] = {}
    missed: list[str] = []
    listing: list[str] = []
    for bug in bugs:
        before = ag(bug, bug.parent, bug.line, bug.end)
        after = ag(bug, bug.fix, bug.fix_line, bug.fix_end)
        cells = [bug.id, bug.repo, bug.kind, "/".join(bug.codes), mark(bool(before)), mark(bool(after))]
        counts = {"awaitguard": bool(before), "awaitguard after fix": bool(after)}
        for tool in checkers:
            found, remaining = checker(tool, bug)
            seen, still = bool(found), bool(remaining)
            cells += [mark(seen), mark(still)]
            counts[tool] = seen
            counts[f"{tool} after fix"] = still
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + int(value)
        rows.append("| " + " | ".join(cells) + " |")
        if not before:
            other = hits.at("awaitguard", bug.parent, bug.path, bug.line, bug.end)
            note = f" (reported {', '.join(other)} there instead)" if other else ""
            missed.append(f"- `{bug.id}` {bug.path}:{bug.line} at {bug.parent[:12]}{note}: {bug.what}")
        if details:
            listing.append(
                f"- `{bug.id}` {bug.repo} {bug.path}:{bug.line}-{bug.end} / fix {bug.fix_line}-{bug.fix_end}"
            )
            for tool in ["awaitguard", *checkers]:
                for label, commit, first, last in (
                    ("parent", bug.parent, bug.line, bug.end),
                    ("fix", bug.fix, bug.fix_line, bug.fix_end),
                ):
                    for message in hits.at(tool, commit, bug.path, first, last):
                        listing.append(f"  - {tool} at {label}: {message}")
    total = len(bugs)
    summary = ["| tool | found at the parent | still reported after the fix |", "| --- | ---: | ---: |"]
    for tool in ["awaitguard", *checkers]:
        hit, later = totals.get(tool, 0), totals.get(f"{tool} after fix", 0)
        summary.append(f"| {tool} | {hit}/{total} ({100 * hit / total:.0f}%) | {later} |")
    repos = len({bug.repo for bug in bugs})
    out = [f"{total} bugs from {repos} repositor{'y' if repos == 1 else 'ies'}.", "", *summary, "", *rows, ""]
    out += ["Missed by awaitguard:", "", *(missed or ["- none"]), ""]
    if details:
        out += ["Messages at the bug lines:", "", *listing, ""]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
