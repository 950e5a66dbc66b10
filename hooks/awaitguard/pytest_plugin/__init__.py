"""pytest plugin for awaitguard-smoke: options and configuration only, inert unless enabled.

Enable with ``--awaitguard`` or the ini key ``awaitguard = true``; the flag wins over the ini key,
which wins over ``[tool.awaitguard.smoke]``. The checks live in ``guards`` (AG201/AG202 test doubles),
``coroutines`` (AG102 dropped coroutines), ``instrument`` (typeguard) and ``loops`` (asyncio debug, uvloop);
``metadata`` explains failures of a distribution not installed where pytest runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os

import pytest

from awaitguard.pytest_plugin import coroutines, failures, guards, instrument, loops, metadata, reach, settings

_GUARD_KEY = pytest.StashKey[guards.DoubleGuard]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("awaitguard", "awaitguard smoke checks")
    for name, (ini_type, help_text) in settings.OPTIONS.items():
        if ini_type == "bool":
            action: type[argparse.Action] | str = argparse.BooleanOptionalAction
            if name == "awaitguard":
                action = "store_true"
            group.addoption(f"--{name}", action=action, default=None, help=help_text)
        else:
            group.addoption(f"--{name}", action="store", default=None, help=help_text)
        parser.addini(name, help_text, type=ini_type, default=None)  # type: ignore[arg-type]


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before any conftest.py is imported: read the settings and install typeguard's hook."""
    found = settings.read(early_config, early_config.known_args_namespace)
    early_config.stash[settings.SETTINGS_KEY] = found
    if found.enabled and found.typeguard:
        instrument.install(early_config, found.packages)


def pytest_configure(config: pytest.Config) -> None:
    found = config.stash.get(settings.SETTINGS_KEY, None)
    if found is None:  # loaded too late for pytest_load_initial_conftests (e.g. pytester inline runs)
        found = settings.read(config)
        config.stash[settings.SETTINGS_KEY] = found
        if found.enabled and found.typeguard:
            instrument.install(config, found.packages)
    if not found.enabled:
        return
    for line in coroutines.FILTERS:
        config.addinivalue_line("filterwarnings", line)
    loops.configure(config, found.loop)
    stack = contextlib.ExitStack()
    config.add_cleanup(stack.close)
    stack.enter_context(coroutines.OriginTracking())
    stack.enter_context(loops.QuietSlowCallbacks())
    threads = stack.enter_context(loops.ThreadSafety(os.path.realpath(found.rootpath) + os.sep))
    config.pluginmanager.register(threads, "awaitguard-threads")
    silencer = failures.Silencer(found.rootpath, found.config_root, found.codes)
    guard = guards.DoubleGuard(found.rootpath, found.packages, silencer, found.policy, found.config_root)
    config.stash[_GUARD_KEY] = stack.enter_context(guard)
    dropped = coroutines.DroppedCoroutines(found.rootpath, silencer)
    config.pluginmanager.register(dropped, "awaitguard-coroutines")
    config.pluginmanager.register(metadata.MissingMetadata(), "awaitguard-metadata")
    tracker = reach.tracker(found.config_root)  # recorded production incidents: which tests reach them
    if tracker is not None:
        config.add_cleanup(tracker.stop)
        config.pluginmanager.register(reach.IncidentReach(tracker, found.incidents), "awaitguard-incidents")


def pytest_report_header(config: pytest.Config) -> str | None:
    found = config.stash.get(settings.SETTINGS_KEY, None)
    if found is None or not found.enabled:
        return None
    packages = ", ".join(found.packages) or "none"
    return f"awaitguard: smoke checks on; typeguard packages: {packages}; loop: {found.loop}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    found = config.stash.get(settings.SETTINGS_KEY, None)
    guard = config.stash.get(_GUARD_KEY, None)
    if found is None or guard is None or not found.debug:
        return
    terminalreporter.section("awaitguard: patches judged")
    for line in guard.judged or ["(none)"]:
        terminalreporter.write_line(line)
