"""The parity codes (AG3xx): what differs between how the tests run and how production runs.

Only ``awaitguard parity`` reports them, and they describe a project's setup, not a line of async
code: they are in ``ALL_CODES`` (what the reporters render) but not in ``CODES``, the codes that
``select``, ``ignore`` and ``per-file-ignores`` govern for the scan, mypy and smoke hooks (the parity
hook has its own ``[tool.awaitguard.parity] ignore``). No ``check``: the comparisons live in
``awaitguard.parity.checks``. Each code has a message saying what breaks, a fix, and its section in
docs/parity.md, not a generated page (``tests/test_parity.py`` keeps the three in step).
"""

from __future__ import annotations

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
