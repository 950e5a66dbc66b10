"""Full scans of real code bases: findings per project and per code, for the README's accuracy table.

usage: python bench/accuracy.py DIR [DIR ...] [--show N]

Each DIR is scanned as its own project (no git, every Python file), with both cores.
Prints a Markdown table and then every finding (or the first N per project), to be inspected by hand.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from awaitguard import config, engine
from awaitguard.report import render
from awaitguard.tree import FsTree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--show", type=int, default=1000, help="findings listed per project")
    args = parser.parse_args(argv)
    rows: list[str] = []
    listings: list[str] = []
    for folder in args.dirs:
        settings = config.Config(root=folder)
        tree = FsTree(folder)
        start = time.perf_counter()
        index = engine.make_index(settings, tree, cache=False, workers=0)
        result = engine.scan_tree(index)
        findings = engine.finish(result.findings, settings, (), ())
        seconds = time.perf_counter() - start
        lines = sum(data.count(b"\n") for data in tree.read(tree.files()).values())
        codes = Counter(f.code for f in findings)
        summary = ", ".join(f"{code} {count}" for code, count in sorted(codes.items())) or "none"
        rows.append(
            f"| {folder.name} | {len(tree.files()):,} | {lines:,} | {result.files_parsed:,} | "
            f"{len(result.notices)} | {len(findings)} ({summary}) | {seconds:.1f} s |"
        )
        listings.append(f"## {folder.name}\n" + render("text", findings[: args.show], ()))
    sys.stdout.write("| project | files | lines | parsed | unparsable | findings | time |\n")
    sys.stdout.write("| --- | ---: | ---: | ---: | ---: | --- | ---: |\n")
    sys.stdout.write("\n".join(rows) + "\n\n")
    sys.stdout.write("\n".join(listings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
