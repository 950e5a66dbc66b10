"""``awaitguard parity`` (the awaitguard-parity hook): where the tests run differently from production.

Reads the project's files only (Dockerfile, Procfile, runtime.txt, CI workflows, tox, nox, pytest's
configuration, the Python sources); runs nothing and writes nothing. Exit 0: no difference; 1: some;
2: bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from awaitguard.findings import Finding

PROG = "awaitguard parity"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Report where the tests run async code differently from production."
    )
    parser.add_argument("--format", choices=("text", "json", "github"), default=None)
    parser.add_argument("--config", type=Path, default=None, help="pyproject.toml to read [tool.awaitguard] from")
    parser.add_argument(
        "--production",
        action="append",
        default=None,
        metavar="FILE",
        help="the Dockerfile, Procfile or runtime.txt production runs from (repeatable; default: "
        "[tool.awaitguard.parity] production, else those at the project's top)",
    )
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)  # pre-commit may pass file names: unused
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        opts = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    from awaitguard import config as config_mod
    from awaitguard.findings import sort_key
    from awaitguard.parity.production import ParityError
    from awaitguard.parity.run import run
    from awaitguard.report import render
    from awaitguard.rules import PARITY_CODES

    root = config_mod.find_root(Path.cwd())
    try:
        config = config_mod.load(root, opts.config)
    except config_mod.ConfigError as exc:
        return _error(str(exc))
    fmt = opts.format or (config.format if config.format in ("text", "json", "github") else "text")
    configured = opts.production or _configured(config.parity.get("production"))
    # the interpreter running awaitguard counts only when it is the project's own environment (not pre-commit's
    # hook environment, not a pipx install)
    inside = Path(sys.prefix).resolve().is_relative_to(root.resolve())
    running = (sys.version_info[0], sys.version_info[1]) if inside and not os.environ.get("PRE_COMMIT") else None
    ignored = list(config.parity.get("ignore", []))
    for code in ignored:
        if not any(known.startswith(code) for known in PARITY_CODES):
            known = ", ".join(PARITY_CODES)
            return _error(
                f"{config.source}: [tool.awaitguard.parity] `ignore` names an unknown code `{code}` ({known})"
            )
    try:
        findings = run(root, configured, config.python, running, config.exclude)
    except ParityError as exc:
        return _error(str(exc))
    findings = sorted(
        (f for f in findings if not f.code.startswith(tuple(ignored)) and not _suppressed(root, f)), key=sort_key
    )
    out = render(fmt, findings)
    if out:
        sys.stdout.write(out)
    return 1 if findings else 0


def _suppressed(root: Path, finding: Finding) -> bool:
    """``# awaitguard: ignore[AG321]`` (or ``# noqa: AG321``) on the reported line, or alone on the line
    above it (a Dockerfile has no trailing comments)."""
    from awaitguard.parity.production import read_text
    from awaitguard.suppress import suppressed, suppressions

    text = read_text(root, finding.path) or ""
    found = suppressions(text.encode("utf-8", "replace"))
    lines = text.splitlines()
    above = lines[finding.line - 2].strip() if 1 < finding.line <= len(lines) + 1 else ""
    return suppressed(found, finding.line, finding.code) or (
        above.startswith("#") and suppressed(found, finding.line - 1, finding.code)
    )


def _configured(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _error(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return 2
