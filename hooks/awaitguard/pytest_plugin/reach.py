"""Incidents become test requirements: which tests execute each recorded incident's line, listed at the
end of the run; with ``--awaitguard-incidents`` (``awaitguard smoke --all``) an incident no test
reaches fails the run, unless it is marked ``accepted`` in the incidents file (docs/incidents.md)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from awaitguard import config as ag_config
from awaitguard.incidents import store
from awaitguard.incidents.reach import Tracker, targets, unreached
from awaitguard.incidents.recheck import incidents_file


def tracker(config_root: Path, loaded: ag_config.Config | None = None) -> Tracker | None:
    """A started tracker over the project's incidents, or None when there are none."""
    try:
        loaded = loaded or ag_config.load(config_root)
        incidents = store.load(incidents_file(config_root, loaded))
    except (ag_config.ConfigError, store.StoreError) as exc:
        raise pytest.UsageError(f"awaitguard: {exc}") from None
    wanted = targets(config_root, incidents)
    if not wanted:
        return None
    found = Tracker(config_root, wanted)
    found.start()
    return found


class IncidentReach:
    def __init__(self, found: Tracker, required: bool) -> None:
        self.tracker = found
        self.required = required

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self.tracker.current = item.nodeid
        try:
            return (yield)
        finally:
            self.tracker.current = ""

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.tracker.stop()
        if self.required and unreached(self.tracker) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.section("awaitguard: production incidents")
        for target in self.tracker.targets:
            incident = target.incident
            tests = sorted(self.tracker.reached[incident.id])
            where = f"{target.path}:{target.line}"
            if tests:
                more = f" (and {len(tests) - 1} more)" if len(tests) > 1 else ""
                terminalreporter.write_line(f"{incident.id} {where}: reached by {tests[0]}{more}")
            elif incident.accepted:
                terminalreporter.write_line(f"{incident.id} {where}: no test reaches it (accepted)")
            else:
                terminalreporter.write_line(
                    f"{incident.id} {where}: no test reaches {where} where production raised {incident.error} "
                    f"at `{incident.callee}`: add one" + ("" if self.required else " (not required in this run)")
                )
