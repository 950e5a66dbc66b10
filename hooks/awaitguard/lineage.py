"""Class lineage: Python's C3 linearization of a class whose bases are all known, and a class's project subclasses.

``_linear`` is the MRO Python computes, or None when it cannot be known here: a base that does not resolve
to a class (a library class the index cannot read, a call, a name bound at run time), bases Python itself
would refuse to linearize, or a cycle. A `typing`/`collections.abc` base (``ABC_BASES``) counts as known,
with no bases of its own; a plain base (``PLAIN_BASES``: `Exception`, `object` ...) brings no member the
scan follows and is left out.

``_mro`` walks a class's MRO: ``_linear``'s, else approximated breadth-first, each class with whether the
classes before it are complete (an unknown base may define anything); a walk that ran to its end is kept.

``_diverges``: a project class that overrides a library base's method with a result of another (or an
unknown) awaitability than the base's (requests' `Session.request` returning an awaitable) makes what the
base's other methods give unknown: they may delegate to the override (`get` calls `self.request`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from awaitguard.known import PLAIN_BASES
from awaitguard.resolving import Resolving, class_scope
from awaitguard.tree import holds_word
from awaitguard.values import ABC_BASES, Value

# a comma between a class statement's `(` and its `:`; led by the literal (a leading `\b` is tried at every
# byte), the word boundary before it checked on each match (``_has_several_bases``)
_SEVERAL_BASES = re.compile(rb"class\s+\w+\s*\([^:]*,")
_IDENT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _has_several_bases(data: bytes) -> bool:
    match = _SEVERAL_BASES.search(data)
    while match is not None:
        start = match.start()
        if not start or data[start - 1] not in _IDENT:
            return True
        match = _SEVERAL_BASES.search(data, start + 1)
    return False


def class_key(cls: Value) -> tuple[str, str]:
    return (cls.module, cls.defn.qualname) if cls.defn is not None else ("", cls.name)


def c3_merge(sequences: list[list[Value]]) -> list[Value] | None:
    """C3's merge: repeatedly take the first head that is in no other sequence's tail; None when none is."""
    lists = [list(seq) for seq in sequences if seq]
    merged: list[Value] = []
    while lists:
        for seq in lists:
            head = class_key(seq[0])
            if not any(head in {class_key(c) for c in other[1:]} for other in lists):
                break
        else:
            return None  # inconsistent: Python raises TypeError for this class statement
        chosen = seq[0]
        merged.append(chosen)
        lists = [rest for rest in ([c for c in other if class_key(c) != head] for other in lists) if rest]
    return merged


def defines(cls: Value, name: str) -> bool:
    """Whether a class of an MRO defines ``name`` itself (or may: `__getattr__`, a metaclass)."""
    if cls.defn is None:
        return name in ABC_BASES.get(cls.name, ())
    return name in cls.defn.members or cls.defn.dynamic


class Lineage(Resolving):
    def _linear(self, value: Value, cut_short: list[bool]) -> tuple[Value, ...] | None:
        """``value``'s class and its C3 MRO, or None (see the module's docstring). A result computed while a
        base's resolution was cut short (a cycle, the depth limit) appends to ``cut_short`` and is not kept."""
        defn = value.defn
        if defn is None:
            return (value,)
        kept = self._linears.get(id(defn))
        if kept is not None and kept[0] is defn:
            return kept[1]
        if id(defn) in self._linear_busy:
            self._cuts += 1
            cut_short.append(True)
            return None
        self._linear_busy.add(id(defn))
        mine: list[bool] = []
        try:
            found = self._linear_uncached(value, mine)
        finally:
            self._linear_busy.discard(id(defn))
        if mine:
            cut_short.append(True)
        else:
            self._linears[id(defn)] = (defn, found)
        return found

    def _linear_uncached(self, value: Value, cut_short: list[bool]) -> tuple[Value, ...] | None:
        assert value.defn is not None
        scope = class_scope(value.defn)
        head = Value("class", module=value.module, path=value.path, defn=value.defn, resolver=self)
        bases: list[Value] = []
        for base_ref in value.defn.bases:
            if base_ref and base_ref[0] == "n:object":
                continue
            base = self._value(value.module, scope, base_ref)
            if base_ref and (value.module, scope, base_ref) not in self._memo:
                cut_short.append(True)
            if base.kind == "external" and base.name in PLAIN_BASES:
                continue
            if not (base.kind == "class" and base.defn is not None) and not (
                base.kind == "external" and base.name in ABC_BASES
            ):
                return None
            bases.append(base)
        sequences: list[list[Value]] = []
        for base in bases:
            linear = self._linear(base, cut_short)
            if linear is None:
                return None
            sequences.append(list(linear))
        merged = c3_merge([*sequences, bases])
        return None if merged is None else (head, *merged)

    def multi_base_subclasses(self, value: Value) -> tuple[Value, ...]:
        """The project's classes with several bases whose MRO holds ``value``'s class: the only subclasses whose MRO
        may put another class between ``value``'s class and those after it (one base keeps that base's order)."""
        defn = value.defn
        if defn is None or not value.module:
            return ()
        key = (value.module, defn.qualname)
        found = self._subclasses.get(key)
        if found is None:
            every = self._multi_base_classes()
            places = self._multi_holding.get(key, [])
            unknown = [  # a class whose MRO was cut short is walked again at each question
                at
                for at in self._multi_unknown
                if any(class_key(c) == key for c, _ in self._mro(every[at][0]) if c.defn)
            ]
            found = self._subclasses[key] = tuple(every[at][0] for at in sorted([*places, *unknown]))
        return found

    def _multi_base_classes(self) -> list[tuple[Value, frozenset[tuple[str, str]] | None]]:
        """Every project class with several bases, found once (the files whose text has such a class statement), with
        the classes of its MRO when its walk ran to its end (kept, and indexed by class in ``_multi_holding``, so
        each later question is a look-up; None: a resolution on the way was cut short, and the walk is made again
        at each question: ``_multi_unknown``)."""
        if self._multi_bases is None:
            tree = self.index.tree
            self._multi_bases = []
            paths = [path for path, data in sorted(tree.read(tree.files()).items()) if _has_several_bases(data)]
            self.index.preload(paths)  # every one is loaded: together, in worker processes when there are many
            for path in paths:
                facts = self.index.facts_for_path(path)
                for sub in facts.defs if facts is not None else ():
                    if facts is not None and sub.kind == "class" and len(sub.bases) > 1:
                        value = self._def_value(facts, sub)
                        cuts = self._cuts
                        keys = frozenset(class_key(c) for c, _ in self._mro(value) if c.defn is not None)
                        known = cuts == self._cuts
                        for held in keys if known else ():  # each question is then a look-up, not a pass over all
                            self._multi_holding.setdefault(held, []).append(len(self._multi_bases))
                        if not known:
                            self._multi_unknown.append(len(self._multi_bases))
                        self._multi_bases.append((value, keys if known else None))
        return self._multi_bases

    def subclass_defines(self, value: Value, names: tuple[str, ...]) -> bool:
        """Whether a project subclass of ``value``'s class defines one of ``names``: an instance declared as the
        base may be one of it (`stream: Stream` holding an `Http(Stream)` that has `__aiter__`); also a subclass
        with several bases whose MRO puts another class defining one before it (``_defined_before``)."""
        defn = value.defn
        if defn is None or not value.module:
            return False
        key = (value.module, defn.qualname, names)
        found = self._subclassed.get(key)
        if found is None:
            found = False
            tree, words = self.index.tree, [name.encode() for name in names]
            for path, data in tree.read(sorted(tree.grep({defn.qualname.rsplit(".", 1)[-1]}))).items():
                if found or not any(holds_word(data, word) for word in words):
                    continue  # a class body defining a name writes it: no class of this file defines one
                facts = self.index.facts_for_path(path)
                for sub in facts.defs if facts is not None else ():
                    if found or sub.kind != "class" or sub is defn or not any(n in sub.members for n in names):
                        continue
                    assert facts is not None
                    found = any(
                        cls.defn is not None and class_key(cls) == class_key(value)
                        for cls, _ in self._mro(self._def_value(facts, sub))
                    )
            self._subclassed[key] = found = found or self._defined_before(value, names)
        return found

    def _defined_before(self, value: Value, names: tuple[str, ...]) -> bool:
        """Whether a project class with several bases puts a class defining one of ``names`` before ``value``'s
        class in its MRO (`Handler(Other, Mixin)`: a `Mixin` that is a `Handler` has `Other.finish`), or has an
        MRO not known here (a library base may define it)."""
        key = class_key(value)
        for sub in self.multi_base_subclasses(value):
            order = self._linear(sub, [])
            if order is None:
                return True
            for cls in order:
                if class_key(cls) == key:
                    break
                if any(defines(cls, name) for name in names):
                    return True
        return False

    def picked_before(self, owner: Value, definer: Value, name: str) -> bool:
        """Whether `self.name` in a method of ``owner``'s class may be another member than ``definer``'s (the class
        that defines ``name`` along that class's MRO), with another awaitability: a project class with several
        bases that derives from ``owner``'s class puts before ``definer`` a class that is no subclass of it and
        defines ``name`` (`Handler(Plain, Mixin)`: in `Mixin.run`, `self.finish` of a `Handler` is
        `Plain.finish`), or has an MRO not known here. A subclass of ``owner``'s own class redefining ``name``
        is not asked about (docs/limits.md)."""
        key = class_key(owner)
        mine: str | None = ""
        for sub in self.multi_base_subclasses(owner):
            order = self._linear(sub, [])
            if order is None:
                return True
            for cls in order:
                if class_key(cls) == class_key(definer):
                    break
                if not defines(cls, name) or any(c.defn is not None and class_key(c) == key for c, _ in self._mro(cls)):
                    continue
                if mine == "":
                    mine = self._awaitability(definer, name)
                theirs = self._awaitability(cls, name) if cls.defn is not None else None
                if mine in (None, "unknown") or theirs != mine:
                    return True
        return False

    def _diverges(self, before: list[Value], library: Value) -> bool:
        """Whether a project class ``before`` the library class ``library`` overrides one of its methods with a
        result of another awaitability: what the library's other methods delegate to it then no longer
        gives what they declare."""
        if library.defn is None or library.module in self.index.modules:
            return False
        for cls in before:
            if cls.defn is None or cls.module not in self.index.modules:
                continue
            key = (cls.module, cls.defn.qualname, library.module, library.defn.qualname)
            found = self._diverging.get(key)
            if found is None:
                self._diverging[key] = False  # while it is being worked out (a cycle)
                found = self._diverging[key] = any(
                    self._diverging_override(cls, library, member)
                    for member in cls.defn.members
                    if member in library.defn.members and not member.startswith("__")
                )
            if found:
                return True
        return False

    def _diverging_override(self, cls: Value, library: Value, member: str) -> bool:
        """Whether ``cls``'s method ``member`` may give another awaitability than ``library``'s: it is not known
        to give the same (an override whose result is unknown may be an awaitable)."""
        mine = self._awaitability(cls, member)
        if mine is None:
            return False
        theirs = self._awaitability(library, member)
        if theirs == "unknown" and library.path.startswith("<stubs>/"):
            return False  # a shipped stub's method listed for its parameters only (tornado's `finish`): no
            # result the stub declares comes from it
        return mine == "unknown" or mine != theirs

    def _awaitability(self, cls: Value, member: str) -> str | None:
        """What calling ``cls``'s method ``member`` gives: "awaitable", "plain" or "unknown"; None when it is no
        single function."""
        assert cls.defn is not None
        tables = self.tables(cls.module)
        defs = tables.defs.get(f"{cls.defn.qualname}.{member}", []) if tables is not None else []
        if len(defs) != 1 or defs[0].kind == "class":
            return None
        method = Value("function", module=cls.module, path=cls.path, defn=defs[0], self_ref=True, resolver=self)
        result = self.call(method)
        if result.kind == "unknown":
            return "unknown"
        return "awaitable" if result.kind in ("coroutine", "awaitable") else "plain"

    def _mro(self, value: Value) -> Iterator[tuple[Value, bool]]:
        """(class value, complete) pairs along the MRO (``_linear``, else a breadth-first approximation); a
        `typing`/`collections.abc` base (``ABC_BASES``) comes as an external value, ``defn`` None.

        A class's walk that ran to its end is kept and read again rather than walked again (most
        callers stop at the class that has the member, but the same classes are asked about again
        and again), unless a base's resolution was cut short (a cycle, the depth limit: such a
        result is not memoized, and a later walk may get further)."""
        defn = value.defn
        if defn is None:
            yield from self._walk_mro(value, [])
            return
        kept = self._mros.get(id(defn))
        if kept is not None and kept[0] is defn:
            yield value, True
            yield from kept[1]
            return
        found: list[tuple[Value, bool]] = []
        cut_short: list[bool] = []
        for pair in self._walk_mro(value, cut_short):
            found.append(pair)
            yield pair
        if not cut_short:
            self._mros[id(defn)] = (defn, tuple(found[1:]))

    def _walk_mro(self, value: Value, cut_short: list[bool]) -> Iterator[tuple[Value, bool]]:
        """``_mro``, walked; a base resolved to a value that was not memoized appends to ``cut_short``."""
        linear = self._linear(value, cut_short)
        if linear is not None:
            yield value, True
            for cls in linear[1:]:
                yield cls, True
            return
        seen: set[tuple[str, str]] = set()
        seen_abcs: set[str] = set()
        stack = [value]
        while stack:
            cls = stack.pop(0)
            if cls.defn is None:
                if cls.name not in seen_abcs:  # `Iterator[str]`: an ABC, with ``defn`` None
                    seen_abcs.add(cls.name)
                    yield cls, True
                continue
            key = (cls.module, cls.defn.qualname)
            if key in seen:
                continue
            seen.add(key)
            yield cls, True
            for base_ref in cls.defn.bases:
                scope = class_scope(cls.defn)
                base = self._value(cls.module, scope, base_ref)
                if base_ref and (cls.module, scope, base_ref) not in self._memo:
                    cut_short.append(True)
                if base.kind == "class" and base.defn is not None:
                    stack.append(base)
                elif base.kind == "external" and base.name in ABC_BASES:
                    stack.append(base)
                elif base.kind == "external" and base.name in PLAIN_BASES:
                    continue
                elif base_ref and base_ref[0] == "n:object":
                    continue
                else:
                    yield cls, False  # an unknown base: members may come from it
