"""Full scans of real code bases: findings per project and per code, for the README's accuracy table.

usage: python bench/accuracy.py DIR [DIR ...] [--show N] [--python PATH] [--no-libraries | --new-with-libraries]

Each DIR is scanned as its own project (no git, every Python file), with both cores.
Prints a Markdown table and then every finding (or the first N per project), to be inspected by hand.
``--python`` is the interpreter whose installed packages library knowledge reads (a scratch venv
holding the project's dependencies); ``--new-with-libraries`` scans twice, without and with library
knowledge, and lists only the findings the second scan adds (the README's "With library knowledge").
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
    parser.add_argument("--python", help="the project's interpreter, for library knowledge")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--no-libraries", action="store_true", help="only the project's own code and stubs/")
    group.add_argument("--new-with-libraries", action="store_true", help="list what library knowledge adds")
    args = parser.parse_args(argv)
    rows: list[str] = []
    listings: list[str] = []
    for folder in args.dirs:
        settings = config.Config(root=folder, python=args.python, libraries=not args.no_libraries)
        tree = FsTree(folder)
        start = time.perf_counter()
        index = engine.make_index(settings, tree, cache=False, workers=0)
        result = engine.scan_tree(index)
        findings = engine.finish(result.findings, settings, (), ())
        seconds = time.perf_counter() - start
        if args.new_with_libraries:
            plain = config.Config(root=folder, libraries=False)
            before = engine.scan_tree(engine.make_index(plain, FsTree(folder), cache=False, workers=0))
            known = {(f.path, f.line, f.code) for f in engine.finish(before.findings, plain, (), ())}
            findings = [f for f in findings if (f.path, f.line, f.code) not in known]
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
