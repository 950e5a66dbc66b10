"""Every scan re-checks the recorded incidents, whatever the change: each incident's site (followed
when its line moved) and every other call of the same callee. One small call from the cli."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from awaitguard.config import Config
from awaitguard.findings import Finding, Related
from awaitguard.incidents import incidents_file as incidents_file
from awaitguard.incidents import store
from awaitguard.incidents.store import StoreError as StoreError
from awaitguard.source import SourceError, parse

if TYPE_CHECKING:
    from awaitguard.incidents.command import Project
    from awaitguard.incidents.patterns import Kind
    from awaitguard.incidents.sites import Site
    from awaitguard.index import Index


@functools.cache
def _kinds() -> dict[str, Kind]:
    """The incident kinds by name (their patterns are compiled only when a project records incidents)."""
    from awaitguard.incidents import patterns

    return {k.name: k for k in vars(patterns).values() if isinstance(k, patterns.Kind)}


_CONSTRUCTS = {
    "await": "`await`",
    "async-with": "`async with`",
    "with": "`with`",
    "async-for": "`async for`",
    "for": "`for`",
    "value": "use as a value",
    "handed": "hand-off to asyncio",
}


@dataclass
class State:
    word: str  # failing | unchanged | resolved | unreadable
    site: Site | None = None
    why: str = ""

    @property
    def resolved(self) -> bool:
        return self.word == "resolved"


@dataclass
class Recheck:
    findings: list[Finding] = field(default_factory=list)  # static findings, each naming its incident
    blocking: list[str] = field(default_factory=list)  # incidents still there that no finding shows
    notes: list[str] = field(default_factory=list)  # resolved incidents

    def merge(self, findings: Sequence[Finding]) -> list[Finding]:
        """``findings`` with this recheck's versions (which name the incident) in place of the same ones."""
        mine = {(f.path, f.line, f.col, f.code) for f in self.findings}
        return [*(f for f in findings if (f.path, f.line, f.col, f.code) not in mine), *self.findings]


def incident_kind(incident: store.Incident) -> Kind | None:
    return _kinds().get(incident.kind)


def work_tree_index(project: Project) -> Index:
    from awaitguard.engine import make_index

    return make_index(project.config, project.tree(), cache=True, workers=0)


def for_scan(root: Path, config: Config, index: Index | None, recorded: set[str] | None = None) -> Recheck:
    """The incidents' part of a scan (raises ``store.StoreError`` for a broken incidents file).

    ``recorded``: the ids the incidents file held before the change being checked (None: every
    incident counts, as under ``--all``). An incident the change itself records is said in a note and
    blocks from the next commit on: the commit that records incidents is not blocked by them.
    """
    incidents = store.load(incidents_file(root, config))
    out = Recheck()
    if not incidents or index is None:
        return out
    if recorded is not None:
        fresh = [incident for incident in incidents if incident.id not in recorded]
        incidents = [incident for incident in incidents if incident.id in recorded]
        out.notes.extend(
            f"incident {incident.id} ({incident.path}:{incident.line} `{incident.callee}`) is recorded by this "
            "change: it is checked from the next commit on"
            for incident in fresh
        )
        if not incidents:
            return out
    states, findings = _check(config, incidents, index)
    for incident in incidents:
        state = states[incident.id]
        where = f"{incident.path}:{state.site.line if state.site else incident.line}"
        if state.word == "resolved":
            out.notes.append(
                f"incident {incident.id} ({where} `{incident.callee}`) is resolved ({state.why}); "
                "`awaitguard incidents prune` removes it"
            )
        elif state.word == "unchanged":
            out.blocking.append(
                f"{where}: incident {incident.id}: `{incident.callee}` failed here in production "
                f"({incident.error}; seen {incident.seen()}), and the line is unchanged"
                "\n    help: fix the line; if it was fixed elsewhere (the callee changed), "
                f"`awaitguard incidents prune {incident.id}`"
            )
    out.findings = findings
    return out


def states(root: Path, config: Config, incidents: Sequence[store.Incident], index: Index) -> dict[str, State]:
    return _check(config, incidents, index)[0]


def _check(config: Config, incidents: Sequence[store.Incident], index: Index) -> tuple[dict[str, State], list[Finding]]:
    from awaitguard.engine import only_async, scan_tree
    from awaitguard.incidents.sites import Module, short

    tree = index.tree
    data = tree.read(sorted({i.path for i in incidents}))
    modules: dict[str, Module | None] = {}
    for path, blob in data.items():
        try:
            modules[path] = Module(parse(blob, path), blob)
        except SourceError:
            modules[path] = None  # the scan itself reports the file
    states: dict[str, State] = {}
    for incident in incidents:
        kind = _kinds().get(incident.kind)
        if incident.path not in modules:
            states[incident.id] = State("resolved", why=f"{incident.path} is gone")
        elif modules[incident.path] is None or kind is None:
            states[incident.id] = State("unreadable", why="the file does not parse")
        else:
            module = modules[incident.path]
            assert module is not None
            site = module.follow(kind, incident.callee, incident.function, incident.line)
            if site is None:
                what = _CONSTRUCTS.get(kind.construct, "call")
                why = f"no {what} of `{incident.callee}` is left in `{incident.function}`"
                states[incident.id] = State("resolved", why=why)
            else:
                states[incident.id] = State("unchanged", site)
    names = {short(i.callee) for i in incidents if i.rule}
    paths = sorted(set(data) | tree.grep(names)) if names else []
    found = scan_tree(index, paths, ()).findings if paths else []
    out: dict[tuple[str, int, int, str], Finding] = {}
    sites: set[tuple[str, int, int, str]] = set()
    for at_site_pass in (True, False):  # an incident's own site first; other calls of its callee get one note
        for incident in incidents:
            state = states[incident.id]
            if not incident.rule:
                continue
            seen = f"production raised {incident.error} (seen {incident.seen()})"
            for finding in found:
                key = (finding.path, finding.line, finding.col, finding.code)
                if finding.code != incident.rule:
                    continue
                at_site = state.site is not None and (finding.path, finding.line) == (incident.path, state.site.line)
                if at_site_pass:
                    if not at_site:
                        continue
                    state.word = "failing"
                    sites.add(key)
                    related = Related(incident.path, finding.line, finding.col, f"incident {incident.id}: {seen} here")
                else:
                    if key in sites or short(finding.kwargs.get("callee", "")) != short(incident.callee):
                        continue
                    sites.add(key)
                    why = f"incident {incident.id}: {seen} at this callee's call in `{incident.function}`"
                    related = Related(incident.path, state.site.line if state.site else incident.line, 0, why)
                base = out.get(key, finding)
                out[key] = base._replace(related=(*base.related, related))
    for incident in incidents:  # no finding at the site: fixed once the line changed, or at the callee
        state = states[incident.id]
        module = modules.get(incident.path)
        if state.word == "unchanged" and state.site is not None and module is not None:
            if module.line(state.site.line) != incident.source:
                state.word, state.why = (
                    "resolved",
                    "the line changed" + (" and the scan finds nothing there" if incident.rule else ""),
                )
            elif incident.kind in (AWAIT_KIND, HANDED_KIND) and only_async(index, short(incident.callee)):
                name = short(incident.callee)
                state.word, state.why = "resolved", f"every `{name}` the project defines is an `async def` now"
    return states, sorted(out.values(), key=lambda f: (f.path, f.line, f.col, f.code))


AWAIT_KIND = "await-not-awaitable"
HANDED_KIND = "awaitable-expected"
