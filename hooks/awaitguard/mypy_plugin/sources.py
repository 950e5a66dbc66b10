"""What the plugin learns from source, through the scanner's core (``facts``, ``index``, ``resolve``).

mypy gives plugins no hook at ``await`` (python/mypy#5650), types unannotated callees as ``Any``,
and under ``-n`` or from its cache hands plugins trees without bodies. So the plugin asks the same
core as ``awaitguard-scan``: which calls sit directly under ``await`` (the ``await`` sites of
``awaitguard.facts``), whether an unannotated plain ``def`` provably returns no awaitable and what
its async sibling is (``awaitguard.resolve``), and which modules a file reaches through strings
(``import_module``, ``patch``) that mypy cannot see as imports. One ``Project`` per plugin instance:
files are parsed once, when first needed, and verdicts are memoised for the run.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from awaitguard.index import Index
from awaitguard.layout import default_roots
from awaitguard.model import DefFact, ModuleFacts, Ref, Site, is_call
from awaitguard.resolve import Resolver
from awaitguard.tree import FsTree
from awaitguard.values import Value

# between the start of `await` and the start of the call it awaits: whitespace and parentheses only
_AWAIT_PREFIX = re.compile(rb"await[\s(]*")


@dataclass(frozen=True)
class PlainCallee:
    """An unannotated plain ``def`` whose result the resolver proves is not awaitable."""

    function: Value  # the def itself
    result: Value  # what calling it gives (its reason and fix are the scanner's)


class Project:
    """The project under the mypy run's directory, as the scanner's ``Index`` and ``Resolver`` see it."""

    def __init__(self, root: Path, roots: Sequence[str] = ()) -> None:
        self.root = root
        tree = FsTree(root)
        self.index = Index(tree, tuple(roots) or default_roots(tree.files(), tree.read))
        self.resolver = Resolver(self.index)
        self._plain: dict[tuple[str, str], PlainCallee | None] = {}
        self._lines: dict[str, list[bytes]] = {}
        self._digests: dict[str, str] = {}

    # -- files -------------------------------------------------------------------------------
    def relative(self, path: str) -> str | None:
        """``path`` relative to the root (posix), or None when it lies outside."""
        rel = os.path.relpath(os.path.abspath(path), self.root)
        if rel.startswith(os.pardir) or os.path.isabs(rel):
            return None
        return rel.replace(os.sep, "/")

    def facts(self, path: str) -> ModuleFacts | None:
        rel = self.relative(path)
        if rel is None or not rel.endswith(".py"):
            return None
        return self.index.facts_for_path(rel)

    def _line(self, rel: str, line: int) -> bytes:
        lines = self._lines.get(rel)
        if lines is None:
            lines = self._lines[rel] = self.index.tree.read([rel]).get(rel, b"").split(b"\n")
        return lines[line - 1] if 0 < line <= len(lines) else b""

    # -- verdicts ----------------------------------------------------------------------------
    def awaited(self, path: str, line: int, column: int, name: str = "") -> Site | None:
        """The ``await`` site whose operand is the call to ``name`` starting at ``line``/``column``.

        mypy's legacy parser gives UTF-8 byte columns; its native parser (the default, and the only
        one under ``-n``) skews columns after non-ASCII text on the line. So on a non-ASCII line a
        site also matches when it is the line's only ``await`` of a call to ``name``.
        """
        facts = self.facts(path)
        if facts is None:
            return None
        text = self._line(facts.path, line)
        named: list[Site] = []
        for site in facts.sites:
            if site.kind == "await" and site.line == line and _awaits_call_of(site.ref, name):
                start = len(text.decode("utf-8", "replace")[: site.col - 1].encode())  # code points -> bytes
                if _AWAIT_PREFIX.fullmatch(text[start:column]):
                    return site
                if name and _step_name(site.ref[-2]) == name:
                    named.append(site)
        return named[0] if len(named) == 1 and not text.isascii() else None

    def def_line(self, path: str, qualname: str) -> int:
        """The line of the definition of ``qualname`` in the module at ``path`` (0 when unknown)."""
        facts = self.facts(path)
        found = [d.line for d in facts.defs if d.qualname == qualname] if facts is not None else []
        return found[-1] if found else 0

    def plain(self, path: str, qualname: str) -> PlainCallee | None:
        """``qualname`` in the module at ``path``, when it is an unannotated ``def`` returning no awaitable."""
        key = (path, qualname)
        if key not in self._plain:
            self._plain[key] = self._judge(path, qualname)
        return self._plain[key]

    def _judge(self, path: str, qualname: str) -> PlainCallee | None:
        facts = self.facts(path)
        if facts is None:
            return None
        value = self.lookup(facts.module, qualname)
        if value.kind != "function" or value.defn is None or value.defn.returns_annotation:
            return None  # annotated callees are mypy's own business
        result = self.resolver.call(value)
        return PlainCallee(value, result) if result.awaitable() is False else None

    def lookup(self, module: str, qualname: str) -> Value:
        return self.resolver.lookup(module, qualname)

    def sibling(self, callee: PlainCallee) -> tuple[str, str] | None:
        """The async sibling's name and ``path:line:col`` (``get_manager`` -> ``get_manager_async``)."""
        name = self.resolver.async_sibling(callee.function)
        defn = callee.function.defn
        if name is None or defn is None:
            return None
        owner = defn.qualname.rpartition(".")[0]
        found = self.lookup(callee.function.module, f"{owner}.{name}" if owner else name).definition()
        return name, f"{found.path}:{found.line}:{found.col}" if found is not None else ""

    # -- dependencies and cache keys -----------------------------------------------------------
    def dependencies(self, path: str, named_as: str = "") -> list[tuple[str, int]]:
        """Modules a file names: import statements, then ``import_module``/``__import__``/patch strings. With
        ``named_as`` (mypy's name for the file), names of the scan's below a package root mypy does not use
        are mypy's: the scan's `ex.site.app1.views` is `app1.views` when mypy names the file `app1.urls`
        (a second name for one file stops mypy: "Source file found twice under different module names")."""
        facts = self.facts(path)
        if facts is None:
            return []
        found = [(i.module if i.attr is None else f"{i.module}.{i.attr}", i.line) for i in facts.imports]
        found += [(i.module, i.line) for i in facts.imports if i.attr is not None]
        found += [(module, 1) for module in facts.star_imports]
        found += list(_string_modules(facts))
        above = facts.module[: -len(named_as)] if named_as and facts.module.endswith(f".{named_as}") else ""
        return [(name.removeprefix(above), line) for name, line in found] if above else found

    def digest(self, path: str) -> str:
        """The module's provably plain ``def``s, as the resolver sees them now (they follow its returns)."""
        rel = self.relative(path)
        if rel is None:
            return ""
        if rel not in self._digests:
            facts = self.facts(path)
            plain = sorted(d.qualname for d in _functions(facts) if self.plain(path, d.qualname)) if facts else []
            self._digests[rel] = hashlib.sha256(repr(plain).encode()).hexdigest()[:16]
        return self._digests[rel]


def _step_name(step: str) -> str:
    """The name a ``Ref`` step ends in: ``get_manager`` for "n:get_manager", "d:svc.get_manager" or
    ".get_manager" ('' for a call, subscript or other step)."""
    if step.startswith(("n:", "d:")):
        return step[2:].rpartition(".")[2]
    return step[1:] if step.startswith(".") and step[1:].isidentifier() else ""


def _awaits_call_of(ref: Ref, name: str) -> bool:
    """Is ``ref`` (an ``await``'s operand) the call mypy hooked, the call to ``name`` starting where the
    operand starts? Every call in a chain starts there: in ``await timed(fn)(1)`` the awaited value is
    what ``timed(fn)`` returns, called, and in ``await a.b().c()`` it is ``c``'s result, not ``b``'s.
    So the operand must be a call of a name or attribute, and when it calls a call's result somewhere
    (a chain), its last name must be ``name`` (an alias, ``gm = get_manager``, is a name without one)."""
    if len(ref) < 2 or not is_call(ref[-1]) or not _step_name(ref[-2]):
        return False
    return not any(is_call(step) for step in ref[:-1]) or _step_name(ref[-2]) == name


def _functions(facts: ModuleFacts) -> Iterator[DefFact]:
    """Plain ``def``s reachable by a dotted name (module level and class bodies)."""
    for defn in facts.defs:
        if defn.kind == "function" and not defn.is_async and "<locals>" not in defn.qualname:
            yield defn


def _string_modules(facts: ModuleFacts) -> Iterator[tuple[str, int]]:
    """Dotted names from ``import_module``/``__import__`` literals and string patch targets."""
    refs: list[tuple[Ref, int]] = [(ref, 1) for _, ref in facts.bindings]
    lines = {d.qualname: d.line for d in facts.defs}
    refs += [(ref, lines.get(s.qualname, 1)) for s in facts.scopes for _, ref in s.bindings]
    for site in facts.sites:
        refs += [(site.ref, site.line), (site.target_ref, site.line), (site.double, site.line)]
        if site.kind == "patch" and site.target and not site.target_ref:
            yield site.target, site.line
    for ref, line in refs:
        if ref and ref[0].startswith("m:"):
            yield ref[0][2:], line


__all__ = ["PlainCallee", "Project"]
