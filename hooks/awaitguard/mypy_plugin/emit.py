"""Report a finding through mypy: the rule's template as the error, then notes and a help line.

Notes share the error's context, so ``-O json`` carries them in the error's ``hint``; the runner
reads ``help: ...`` as the fix and ``... (defined at PATH:LINE)`` as a related location.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mypy.nodes import Context
from mypy.plugin import CheckerPluginInterface

from awaitguard.mypy_plugin.errorcodes import BY_CODE
from awaitguard.mypy_plugin.services import Services
from awaitguard.rules import CODES


def emit(
    services: Services,
    api: CheckerPluginInterface,
    code: str,
    context: Context,
    args: Mapping[str, str],
    notes: Iterable[str] = (),
) -> None:
    if code not in services.config.enabled or code not in BY_CODE:
        return
    meta = CODES[code]
    error_code = BY_CODE[code]
    api.fail(meta.template.format(**args), context, code=error_code)
    for note in notes:
        api.msg.note(note, context, code=error_code)
    api.msg.note("help: " + meta.fix.format(**args), context, code=error_code)


def defined_at(text: str, where: str) -> str:
    return f"{text} (defined at {where})" if where else text


__all__ = ["defined_at", "emit"]
