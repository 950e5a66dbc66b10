"""The parity codes (AG3xx): what differs between how the tests run and how production runs.

Only ``awaitguard parity`` reports them, and they describe a project's setup, not a line of async
code: they are in ``ALL_CODES`` (what the reporters render) but not in ``CODES``, the codes that
``select``, ``ignore`` and ``per-file-ignores`` govern for the scan, mypy and smoke hooks (the parity
hook has its own ``[tool.awaitguard.parity] ignore``). No ``check``: the comparisons live in
``awaitguard.parity.checks``. Each code has a message saying what breaks, a fix, and its section in
docs/parity.md, not a generated page (``tests/test_parity.py`` keeps the three in step).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from awaitguard.rules._base import RuleMeta


def _code(code: str, slug: str, template: str, fix: str) -> RuleMeta:
    # their related locations are evidence (where the tests run, where uvloop is installed), each
    # shown with its note, not a definition; their documentation is docs/parity.md
    return RuleMeta(code, slug, template, fix, doc="", hooks=("parity",), related="evidence")


AG301 = _code(
    "AG301",
    "python-untested",
    "production runs Python {prod} ({how}) but the tests run only on {tested}: behaviour that changed "
    "between these versions (asyncio's TaskGroup and timeout, event-loop creation, error wordings) "
    "reaches production untested",
    "add {prod} to the versions the tests run on, or run production on a tested version",
)
AG302 = _code(
    "AG302",
    "python-unsupported",
    "production runs Python {prod} ({how}) but requires-python is `{spec}`: the project does not "
    "support the interpreter it is deployed on, and the tests never run on it",
    "deploy on a Python that `{spec}` allows, or widen requires-python and test on {prod}",
)
AG311 = _code(
    "AG311",
    "loop-untested",
    "production runs on uvloop ({how}) but the async tests run on asyncio's own event loop: uvloop differs "
    "in thread-safety checks, error wordings, signal and subprocess handling, so what passes in the "
    "tests can fail in production",
    "run the tests on uvloop too: in conftest.py, a session `event_loop_policy` fixture returning "
    "`uvloop.EventLoopPolicy()` (pytest-asyncio), or `anyio_backend` returning "
    '`("asyncio", {{"use_uvloop": True}})` (anyio)',
)
AG321 = _code(
    "AG321",
    "warning-hidden",
    "{what} hides {hidden} in the tests: a coroutine that is never awaited passes the tests silently, "
    "while production logs `RuntimeWarning: coroutine '...' was never awaited` and its work never runs",
    "{fix}",
)
AG331 = _code(
    "AG331",
    "debug-untested",
    "production runs asyncio in debug mode ({how}) but the tests do not: debug mode raises "
    "RuntimeError for non-thread-safe calls from other threads and logs slow callbacks, so "
    "production fails where the tests pass",
    "run the tests in debug mode too (`PYTHONASYNCIODEBUG=1` in the test environment), or turn "
    "debug mode off in production",
)
AG341 = _code(
    "AG341",
    "async-test-not-run",
    "`{name}` is an `async def` test but pytest-asyncio runs in strict mode and nothing marks it: "
    "pytest does not run its body (skipped with a warning before pytest 8.4, failed since)",
    "mark it `@pytest.mark.asyncio` (or the module: `pytestmark = pytest.mark.asyncio`), or set "
    '`asyncio_mode = "auto"`',
)

META = (AG301, AG302, AG311, AG321, AG331, AG341)


# -- wording: ``awaitguard.parity.checks`` finds the differences and gives their facts ----------------------
def setting(*, text: str, path: str, line: int) -> str:
    """How a setting shows (``how``): the line as written when it is short, else where it is."""
    return f"`{text}`" if len(text) <= 60 else f"{path}:{line}"


def versions_shown(*, versions: Sequence[str], local: str = "") -> str:
    """AG301's ``tested``: the versions the tests run on, and a local setting naming one (``.python-version``)."""
    shown = ", ".join(versions)
    return f"{shown} ({local})" if local else shown


def tested_note(*, versions: Sequence[str]) -> str:
    """The note where the tests are set to run on ``versions``."""
    return f"the tests run on Python {', '.join(versions)} here"


def uvloop_note() -> str:
    """The note where production's dependencies bring uvloop."""
    return "uvloop is installed here"


def loop_how(*, command: str = "", server: str = "", installed: bool = False) -> str:
    """AG311's ``how``: a server ``command`` that runs on uvloop, or picks it when it is ``installed``; or a
    ``server`` function called with its default loop (which picks uvloop when it is installed)."""
    if server:
        return f"`{server}(...)` with its default loop picks uvloop when it is installed, and production installs it"
    if installed:
        return f"`{command}` picks uvloop when it is installed, and production installs it"
    return f"`{command}`"


_HIDDEN = {
    "RuntimeWarning": "the never-awaited `RuntimeWarning`",
    "PytestUnraisableExceptionWarning": (
        "`PytestUnraisableExceptionWarning` (how pytest reports a never-awaited coroutine once "
        "RuntimeWarning is an error)"
    ),
}


def hidden_args(*, where: Literal["environment", "config", "code"], spec: str, hidden: str) -> dict[str, str]:
    """AG321's arguments: the filter ``spec`` set in the test environment (``PYTHONWARNINGS``), in pytest's
    configuration, or in test code (then ``spec`` is the call as written) hides the warning ``hidden``
    (``RuntimeWarning`` or ``PytestUnraisableExceptionWarning``)."""
    if where == "environment":
        what = f"`PYTHONWARNINGS={spec}` in the test environment"
        fix = "remove it from the test environment, or let pytest's `filterwarnings` decide"
    elif where == "config":
        what = f"the pytest filter `{spec}`"
        parts = spec.split(":")
        category = parts[2].strip() if len(parts) > 2 and parts[2].strip() else hidden
        fix = f"remove this filter, or narrow it to the warning you mean (`ignore:<message>:{category}:<module>`)"
    else:
        what = f"this warnings filter (`{spec}`)"
        fix = "remove it, or filter only inside `with warnings.catch_warnings():` around the call that warns"
    return {"what": what, "hidden": _HIDDEN[hidden], "fix": fix}
