"""Report a finding through mypy: the rule's template as the error, then its notes.

Notes share the error's context, so ``-O json`` carries them in the error's ``hint``. Under
``awaitguard mypy`` (``Services.data``) the note is the finding as data (``carried.py``), which the
hook reads back; in a plain mypy run the notes are for people: one per related location
(``... (defined at PATH:LINE)``) and a ``help: ...`` line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mypy.nodes import Context
from mypy.plugin import CheckerPluginInterface

from awaitguard.mypy_plugin.carried import encode, split_where
from awaitguard.mypy_plugin.errorcodes import BY_CODE
from awaitguard.mypy_plugin.services import Services
from awaitguard.rules import CODES


def emit(
    services: Services,
    api: CheckerPluginInterface,
    code: str,
    context: Context,
    args: Mapping[str, str],
    notes: Iterable[tuple[str, str]] = (),
    col: int = 0,
) -> None:
    """``notes``: ``(text, where)`` pairs, ``where`` a ``path:line[:col]`` or "" when the place is unknown;
    ``col``: the finding's 1-based column as the scan gives it, when it is not ``context``'s (the
    ``await`` of an awaited call); the hook reports it there, a plain mypy run at ``context``."""
    if code not in services.config.enabled or code not in BY_CODE:
        return
    meta = CODES[code]
    error_code = BY_CODE[code]
    fix = meta.fix.format(**args)
    api.fail(meta.template.format(**args), context, code=error_code)
    if services.data:
        api.msg.note(encode({**args, "fix": fix}, notes, col), context, code=error_code)
        return
    for text, where in notes:
        split = split_where(where)
        api.msg.note(defined_at(text, f"{split[0]}:{split[1]}" if split else ""), context, code=error_code)
    api.msg.note("help: " + fix, context, code=error_code)


def defined_at(text: str, where: str) -> str:
    return f"{text} (defined at {where})" if where else text


__all__ = ["defined_at", "emit"]
