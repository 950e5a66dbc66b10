"""The awaitguard-mypy hook: mypy with the plugin and stubs, reporting only async findings.

``main(argv)``: ``[--format text|json|sarif|github] [mypy options] [files]``. Exit 0 clean,
1 findings, 2 usage, config or mypy errors (one stderr line).
"""

from __future__ import annotations

import argparse
import io
import json
import linecache
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from awaitguard.config import ConfigError
from awaitguard.findings import Notice, dedupe
from awaitguard.mypy_plugin import SUPPORTED, placed, supported
from awaitguard.mypy_plugin import config as plugin_config
from awaitguard.mypy_plugin.services import mypy_stubs_path
from awaitguard.mypy_plugin.translate import IMPORT_CODES, translate
from awaitguard.report import FORMATS, counted, notice_lines, render
from awaitguard.suppress import FileSuppressions

if TYPE_CHECKING:
    from mypy.modulefinder import BuildSource

PLUGIN = "awaitguard.mypy"
DATA_PLUGIN = "awaitguard.mypy:data_plugin"  # the same plugin, handing its findings back as data
PROG = "awaitguard mypy"  # the prefix of every line this hook writes to stderr, as argparse's errors have
# What async checking needs; everything else comes from the user's own mypy configuration.
ASYNC_ARGS = ("--enable-error-code", "unused-awaitable", "--enable-error-code", "truthy-bool")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="mypy with awaitguard's plugin and stubs; reports async misuse only. "
        "Other options are passed to mypy.",
    )
    parser.add_argument("--format", choices=sorted(FORMATS), default="text")
    return parser


def _mypy_args(extra: Sequence[str], settings: plugin_config.PluginConfig | None) -> list[str]:
    args = ["-O", "json", *ASYNC_ARGS]
    if settings is None or settings.check_untyped_defs:
        args.append("--check-untyped-defs")
    if settings is not None:
        args.extend(settings.args)
    return [*args, *extra]


STOPPED = "mypy stopped at this error and checked nothing after it"
SERIAL_NOTICE = (
    "mypy's `-n` workers load plugins only from a config file and none was found, so this run was "
    "serial (add a `[mypy]` section to mypy.ini or `[tool.mypy]` to pyproject.toml to check in parallel)"
)


def _run_mypy(args: list[str], notices: list[Notice] | None = None) -> tuple[list[dict[str, Any]], str | None, bool]:
    """JSON records of one in-process mypy build, or an error line; and whether the native parser ran."""
    from mypy import build
    from mypy.errors import CompileError
    from mypy.fscache import FileSystemCache
    from mypy.main import process_options

    fscache = FileSystemCache()
    quiet = io.StringIO()
    try:
        sources, options = process_options(args, stdout=quiet, stderr=quiet, fscache=fscache)
    except SystemExit:
        said = quiet.getvalue().strip().splitlines()
        return [], "mypy: " + (said[-1].removeprefix("mypy: error: ") if said else "invalid arguments"), True
    sources = _without_duplicates(sources, notices)
    extra_plugins = []
    if options.config_file:
        # the data entry in place of the user's own (its findings are read back as data), or added:
        # serialised with the options, so ``-n`` workers load it too
        ours = [i for i, entry in enumerate(options.plugins) if entry.split(":", 1)[0] == PLUGIN]
        options.plugins = [entry for i, entry in enumerate(options.plugins) if i not in ours[1:]]
        if ours:
            options.plugins[ours[0]] = DATA_PLUGIN
        else:
            options.plugins.append(DATA_PLUGIN)
    else:
        # mypy loads ``options.plugins`` only when a config file was found.
        from awaitguard.mypy_plugin.main import AwaitguardDataPlugin

        extra_plugins.append(AwaitguardDataPlugin(options))
        if options.num_workers:
            # workers rebuild plugins from ``options.config_file`` alone: they would check without ours
            options.num_workers = 0
            if notices is not None:
                notices.append(Notice.note(SERIAL_NOTICE))
    stubs = mypy_stubs_path(options.python_executable)
    if stubs is not None and stubs not in options.mypy_path:
        options.mypy_path.append(stubs)  # after the user's own entries
    options.output = "json"
    if options.num_workers:
        options.native_parser = True  # as mypy.main does for parallel checking
    native = bool(options.native_parser)
    lines: list[str] = []

    def flush(_filename: str | None, new: list[str], _serious: bool) -> None:
        lines.extend(new)

    try:
        result = build.build(sources, options, None, flush, fscache, quiet, quiet, extra_plugins)
        result.manager.metastore.close()
    except CompileError as exc:
        # mypy stopped at a blocking error: what it reported before it stands, the rest was not checked
        lines.extend(line for line in exc.messages if line not in lines)
        records = _records(lines)
        if not records:
            return [], "mypy: " + (exc.messages[-1] if exc.messages else "compile error"), native
        blocker = _blocker(records)
        if blocker is None or blocker.get("code") != "syntax":
            stopped = _stopped_by([blocker] if blocker is not None else records)
            if stopped is not None:
                return [r for r in records if r is not blocker], stopped, native
        else:
            line = f"mypy: {blocker['file']}:{blocker['line']}: {blocker['message']}; {STOPPED}"
            remedy = _newer_python(str(blocker["file"]), str(blocker["message"]), options.python_version)
            rest = [r for r in records if r is not blocker]
            return rest, f"{line}; {remedy}" if remedy else line, native
    records = _records(lines)
    # syntax mypy reports without stopping (newer than the Python it checks for): the file does not
    # parse there, an error, not findings (`async with` outside a coroutine shares the code: AG106)
    unparsed = [r for r in records if r.get("code") == "syntax" and not placed.non_blocking(r)]
    if unparsed:
        first = unparsed[0]
        line = f"mypy: {first['file']}:{first['line']}: {first['message']}"
        remedy = _newer_python(str(first["file"]), str(first["message"]), options.python_version)
        return [], f"{line}; {remedy}" if remedy else line, native
    return records, None, native


def _without_duplicates(sources: list[BuildSource], notices: list[Notice] | None) -> list[BuildSource]:
    """The files to check, less those that mypy would take for one module (`examples/sync/client.py` and
    `examples/async/client.py`, no package above them: under `--all-files` mypy stops at the first such pair,
    "Duplicate module named"); a note names them, unchecked."""
    by_module: dict[str, list[BuildSource]] = {}
    for source in sources:
        if source.path is not None:
            by_module.setdefault(source.module, []).append(source)
    clashing = {module: group for module, group in by_module.items() if len(group) > 1}
    if not clashing:
        return sources
    if notices is not None:
        for module, group in sorted(clashing.items()):
            paths = ", ".join(sorted(_relative(str(s.path)) for s in group))
            notices.append(
                Notice.note(
                    f"{paths}: all module `{module}` to mypy (no package holds them): not checked; "
                    "`files: ^yourpackage/` in .pre-commit-config.yaml keeps the hook to your code"
                )
            )
    dropped = {id(s) for group in clashing.values() for s in group}
    return [s for s in sources if id(s) not in dropped]


# mypy writes some blocking errors as text, even under ``-O json``: ``b.py:3: error: message  [code]``,
# or without a line (``b.py: error: Duplicate module named ...``, then notes)
_TEXT_ERROR = re.compile(
    r"(?P<file>.+?)(?::(?P<line>\d+))?(?::\d+)?: error: (?P<message>.*?)(?:  \[(?P<code>[\w-]+)\])?"
)


def _records(lines: Sequence[str]) -> list[dict[str, Any]]:
    records = []
    stopped: dict[str, Any] | None = None
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            text = _TEXT_ERROR.fullmatch(line)
            if text is not None:  # the error mypy stopped at, in text whatever the format (its notes follow)
                found = text.groupdict()
                stopped = {**found, "line": int(found["line"] or -1), "severity": "error"}
    return records if stopped is None else [*records, stopped]


def _blocker(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The error mypy stopped at. It stops right after the file holding it, so the blocker is among the
    last file's last errors: the first of its final run of errors that mypy does not report in passing
    (a parse error gives one per broken line; ``async with`` outside a coroutine has the code ``syntax``
    too, and is not one)."""
    errors = [r for r in records if r.get("severity") == "error" and not placed.non_blocking(r)]
    if not errors:
        return None
    last = errors[-1]
    run = [r for r in errors if r.get("file") == last.get("file") and r.get("code") == last.get("code")]
    return run[0] if last.get("code") == "syntax" else last


def _newer_python(path: str, message: str, target: tuple[int, int]) -> str | None:
    """For a syntax error of a newer Python: the `language_version` (or mypy setting) that fixes it."""
    from pathlib import Path

    from awaitguard.config import find_root
    from awaitguard.newer import mypy_advice

    return mypy_advice(path, message, target, find_root(Path.cwd()))


def _stopped_by(records: Sequence[dict[str, Any]]) -> str | None:
    """Why mypy stopped before checking, from its records (a syntax error aside: the caller reports it).

    Typically a plugin of the user's own configuration that does not import (``plugins =
    "pydantic.mypy"`` without pydantic in the hook's environment): then the line says what to add.
    """
    for record in records:
        if record.get("severity") != "error" or record.get("code") == "syntax":
            continue
        message = str(record.get("message", ""))
        where = _relative(str(record.get("file", "")))
        line_number = record.get("line")
        if isinstance(line_number, int) and line_number > 0:
            where += f":{line_number}"
        text = f"mypy: {where}: {message}"
        if message.startswith("Error importing plugin"):
            text += "; list the plugin's package in the hook's additional_dependencies (pre-commit installs only those)"
        elif message.startswith("Duplicate module named"):
            text += (
                "; pre-commit passes every staged Python file, and mypy's own `files`/`exclude` do not apply to "
                "files named on the command line: limit the hook with `files: ^yourpackage/` or `exclude:` "
                "in .pre-commit-config.yaml"
            )
        elif record.get("file") and not record["file"].endswith((".ini", ".toml", ".cfg")):
            text += "; " + STOPPED  # a blocking error in the code (`yield` outside a function)
        return text
    return None


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    ns, extra = parser.parse_known_args(argv)
    import mypy.version

    if not supported(mypy.version.__version__):
        version = mypy.version.__version__
        return _error(f"mypy {version} is not supported (needs mypy{SUPPORTED})")
    try:
        settings = plugin_config.load(_config_file(extra))
    except ConfigError as exc:
        return _error(str(exc))
    notices: list[Notice] = []
    try:
        records, error, native = _run_mypy(_mypy_args(extra, settings), notices)
    except SystemExit as exc:  # a plugin refusal or mypy's internal-error exit; it printed why
        if exc.code in (0, None):
            return 2
        return _error(f"mypy stopped (exit {exc.code})")
    if error is not None and not records:
        return _error(error)
    findings, unresolved = translate(records, _read_line, native)
    comments = FileSuppressions()
    findings = [
        finding
        for finding in dedupe(findings)
        if finding.code in settings.enabled
        and settings.codes.keeps(_from_root(finding.path, settings.root), finding.code)
        and not comments.suppressed(finding.path, finding.line, finding.code)
    ]
    if unresolved:
        notices.extend(Notice.note(message) for message in _unresolved_notes(records))
    sys.stdout.write(render(ns.format, findings, notices))
    sys.stderr.write(notice_lines(notices, PROG))  # in every format, as `awaitguard scan` does
    if error is not None:  # mypy stopped at a blocking error: what it found before stands, the run fails
        return _error(error)
    return 1 if findings else 0


_QUOTED_MODULE = re.compile(r'"([\w.]+)"')


def _unresolved_notes(records: Sequence[dict[str, Any]]) -> list[str]:
    """One note for the imports mypy found no module for, one for those it found no types for (a package
    without `py.typed`, or one typeshed has stubs for that are not installed): calls into either are
    `Any` and go unchecked, and the remedies differ."""
    missing: set[str] = set()
    untyped: set[str] = set()
    for record in records:
        code = record.get("code")
        if code in IMPORT_CODES:
            found = _QUOTED_MODULE.search(str(record.get("message", "")))
            name = found.group(1) if found else "?"
            (untyped if code == "import-untyped" else missing).add(name)
    notes = []
    if missing:
        notes.append(
            f"mypy found no module for {_modules(missing)}: calls into {_them(missing)} are `Any` and unchecked "
            "(list the packages in additional_dependencies)"
        )
    if untyped:
        notes.append(
            f"mypy found no types for {_modules(untyped)}: calls into {_them(untyped)} are `Any` and unchecked "
            "(add their stubs packages, such as types-..., to additional_dependencies where they exist)"
        )
    return notes


def _modules(names: set[str], shown: int = 5) -> str:
    listed = ", ".join(sorted(names)[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    return f"{counted(len(names), 'import')} ({listed})"


def _them(names: set[str]) -> str:
    return "it" if len(names) == 1 else "them"


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _config_file(extra: Sequence[str]) -> str | None:
    """The mypy config file mypy itself would use (``--config-file`` or its default search)."""
    from mypy.fscache import FileSystemCache
    from mypy.main import process_options

    quiet = io.StringIO()
    try:
        _sources, options = process_options(
            list(extra), stdout=quiet, stderr=quiet, fscache=FileSystemCache(), require_targets=False
        )
    except SystemExit:
        return None
    return options.config_file


def _from_root(path: str, root: Path) -> str:
    """A finding's path (relative to where mypy ran) as the project's globs see it."""
    return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")


def _read_line(path: str, line: int) -> str:
    return linecache.getline(path, line).rstrip("\n")


if __name__ == "__main__":
    raise SystemExit(main())
