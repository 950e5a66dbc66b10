"""Events -> incidents: classify, map to the work tree, merge into the recorded incidents."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from awaitguard.incidents.events import Event, stable_error
from awaitguard.incidents.paths import PathMapper
from awaitguard.incidents.patterns import AWAIT, DROPPED, HANDED, VALUE, Kind, classify, never_awaited
from awaitguard.incidents.sites import HANDING, Module, Site, short
from awaitguard.incidents.store import MAX_RECENT, Incident, make_id
from awaitguard.source import SourceError, parse
from awaitguard.tree import Tree

MAX_MODULES = 256  # parsed files kept at once
SAMPLES = 5  # unmapped failures quoted in the summary, per reason


@dataclass
class _Baseline:
    last: str
    recent: frozenset[str]


@dataclass
class IngestStats:
    failures: int = 0  # async failures recognised
    other_errors: int = 0  # tracebacks that are not async failures
    unmapped: Counter[str] = field(default_factory=Counter)  # reason -> failures
    samples: dict[str, list[str]] = field(default_factory=dict)
    new: int = 0
    updated: set[str] = field(default_factory=set)  # ids whose count or dates changed, new ones included
    created: set[str] = field(default_factory=set)  # ids of the new ones

    @property
    def updated_only(self) -> int:
        """Incidents known before this ingest that it changed."""
        return len(self.updated - self.created)


class Merger:
    def __init__(self, tree: Tree, incidents: Iterable[Incident], path_map: Mapping[str, str] | None = None) -> None:
        self._tree = tree
        self._paths = PathMapper(tree.files(), path_map)
        self.incidents = {i.key: i for i in incidents}
        self._baseline = {k: _Baseline(i.last_seen, frozenset(i.recent)) for k, i in self.incidents.items()}
        self._untimed: Counter[tuple[str, str, str, str]] = Counter()
        self._modules: dict[str, Module | str] = {}
        self.stats = IngestStats()

    def next_log(self) -> None:
        """Untimed events are counted per log: ``untimed`` keeps the most any one log showed."""
        self._untimed.clear()

    def add(self, event: Event) -> None:
        kind = classify(event.exc_type, event.message)
        if kind is None:
            self.stats.other_errors += 1
            return
        self.stats.failures += 1
        found = self._site(event, kind)
        if isinstance(found, str):
            self.stats.unmapped[found] += 1
            samples = self.stats.samples.setdefault(found, [])
            text = stable_error(event.error, 160)
            if len(samples) < SAMPLES and text not in samples:
                samples.append(text)
            return
        path, site, source, kind = found
        self._merge(event, kind, path, site, source)

    def _site(self, event: Event, kind: Kind) -> tuple[str, Site, str, Kind] | str:
        name = short(never_awaited(event.message) or "") if kind is DROPPED else None
        for depth, frame in enumerate(reversed(event.frames)):
            if frame.in_app is False:
                continue
            path = self._paths.map(frame.path)
            if path is None:
                continue
            module = self._module(path)
            if isinstance(module, str):
                return module
            site = module.find(kind, frame.line, name)
            if site is None and name:  # a warning names where the coroutine was collected: look in its function
                site = module.follow(kind, name, module.function_at(frame.line), frame.line)
            if site is None and kind is VALUE:  # `func = make(...)` earlier, then `func()`: the call that made it
                site = module.bound_use(frame.line)
            if site is None:
                return f"the line does not hold the failing construct ({kind.construct}): the code changed since"
            if kind is AWAIT and depth and short(site.callee) in HANDING:
                # `await asyncio.wait_for(f(), 1)` on 3.12+: the `await` that failed is asyncio's own, of `f()`
                handed = module.find(HANDED, frame.line)
                if handed is not None:
                    site, kind = handed, HANDED
            if kind is HANDED and module.forwards(site):
                continue  # a spawner of the project handing its parameter on: the value was made a frame out
            source = self._line(path, site.line)
            return path, site, source, kind
        return "no frame in the repository"

    def _module(self, path: str) -> Module | str:
        found = self._modules.get(path)
        if found is None:
            if len(self._modules) >= MAX_MODULES:
                self._modules.clear()
            data = self._tree.read([path]).get(path)
            if data is None:
                found = "the file cannot be read"
            else:
                try:
                    tree: ast.Module = parse(data, path)
                except SourceError:
                    found = "the file does not parse"
                else:
                    found = Module(tree, data)
            self._modules[path] = found
        return found

    def _line(self, path: str, line: int) -> str:
        module = self._modules.get(path)
        return module.line(line) if isinstance(module, Module) else ""

    def _merge(self, event: Event, kind: Kind, path: str, site: Site, source: str) -> None:
        key = (kind.rule or kind.name, path, site.function, site.callee)
        incident = self.incidents.get(key)
        if incident is None:
            incident = Incident(
                make_id(key), kind.name, kind.rule, path, site.line, site.function, site.callee, source,
                stable_error(event.error),
            )  # fmt: skip
            self.incidents[key] = incident
            self._baseline[key] = _Baseline("", frozenset())
            self.stats.new += 1
            self.stats.created.add(incident.id)
        stamp = event.timestamp
        if stamp is None:
            self._untimed[key] += 1
            if self._untimed[key] > incident.untimed:
                incident.untimed = self._untimed[key]
                self.stats.updated.add(incident.id)
            return
        base = self._baseline[key]
        fingerprint = event.fingerprint("\0".join(key))
        if stamp > base.last or (stamp == base.last and fingerprint not in base.recent):
            incident.count += 1
            self.stats.updated.add(incident.id)
        if not incident.first_seen or stamp < incident.first_seen:
            incident.first_seen = stamp
        if stamp > incident.last_seen:
            incident.last_seen = stamp
            incident.recent = [fingerprint]
            incident.line, incident.source = site.line, source  # where the newest deployment failed
        elif stamp == incident.last_seen and fingerprint not in incident.recent and len(incident.recent) < MAX_RECENT:
            incident.recent = sorted([*incident.recent, fingerprint])
