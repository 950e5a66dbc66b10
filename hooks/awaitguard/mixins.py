"""A parameter given `self` by methods of several classes: the one project class that combines them.

``callers.py`` knows an unannotated parameter when every call of its def passes an instance of one class.
Mixins break that: `Message(self, ...)` is written in methods of `MessageMethods`, `DialogMethods` and
`MessageParseMethods`, three classes that only `TelegramClient(MessageMethods, DialogMethods, ...)` combines.
`self` in a method of class C is an instance of C or of a subclass of C. In the project (the closed world the
callers' search already works in), the classes it may be are C and its project subclasses, the candidates.
``combined`` answers when every value is such a `self` and exactly one project class derives from all the
classes: the parameter is then an instance of that class, and its members are judged there only where every
candidate agrees (``agreed_member``): a candidate whose MRO lacks the member altogether does not count (the
access raises AttributeError on it), any other answer that differs makes the member unknown.
"""

from __future__ import annotations

import re

from awaitguard.lineage import class_key
from awaitguard.resolving import NONE, Resolving
from awaitguard.values import UNKNOWN, Value

_MAX_CLASSES = 48  # candidates at most (a base of many classes: its subclasses are unlikely to agree)


class Mixins(Resolving):
    _subclass_sets: dict[tuple[str, str], tuple[Value, ...] | None]

    def combined(self, values: list[Value]) -> Value:
        """The instance ``values`` (each a `self`, an assigned `None` aside) are in the project: the one class
        deriving from all their classes, with the other candidates kept in ``members``; else unknown."""
        given = [v for v in values if v is not NONE]
        if not given or any(
            v.kind != "instance" or not v.self_ref or v.defn is None or v.members or v.module not in self.index.modules
            for v in given
        ):
            return UNKNOWN
        mixins = {class_key(v): v for v in given}
        if len(mixins) < 2:
            return UNKNOWN
        candidates: dict[tuple[str, str], Value] = {}
        for mixin in mixins.values():
            subclasses = self._project_subclasses(mixin)
            if subclasses is None:
                return UNKNOWN
            candidates.update((class_key(c), c) for c in (mixin, *subclasses))
        if len(candidates) > _MAX_CLASSES:
            return UNKNOWN
        combining = [c for c in candidates.values() if set(mixins) <= {class_key(k) for k, _ in self._mro(c) if k.defn}]
        # the one that derives from them all first: every other one derives from it
        tops = [c for c in combining if all(class_key(c) in {class_key(k) for k, _ in self._mro(o)} for o in combining)]
        if len(tops) != 1:
            return UNKNOWN  # none, or unrelated classes combining them
        one = tops[0]
        others = tuple(
            c.replace(kind="instance", self_ref=True, members=(), origin=None)
            for key, c in sorted(candidates.items())
            if key != class_key(one)
        )
        return Value(
            "instance", module=one.module, path=one.path, defn=one.defn, self_ref=True, members=others, resolver=self
        )

    def agreed_member(self, owner: Value, name: str) -> Value:
        """``name`` on a ``combined`` instance: its class's member, when every other candidate that has ``name``
        has the same one (``Members._member`` asks for any value with ``members``)."""
        found = self._member(owner.replace(members=()), name)
        if found.kind == "unknown" or owner.kind != "instance":  # (a union's or a container's members: not these)
            return found
        for other in owner.members:
            has = self.class_has(other, name)
            if has is None:
                return UNKNOWN
            if not has and not any(c.defn is not None and name in _attrs(c) for c, _ in self._mro(other)):
                continue  # an AttributeError on that candidate: it cannot be what the code reads there
            if self._member(other, name) != found:
                return UNKNOWN
        return found

    def _project_subclasses(self, cls: Value) -> tuple[Value, ...] | None:
        """Every project class whose MRO holds ``cls``'s class (itself aside), found through the files naming it
        or one of its subclasses; None when there are too many."""
        key = class_key(cls)
        if key in self._subclass_sets:
            return self._subclass_sets[key]
        found: dict[tuple[str, str], Value] = {}
        words, searched = [key[1].rsplit(".", 1)[-1]], set()
        while words:
            word = words.pop()
            if word in searched:
                continue
            searched.add(word)
            subclassing = re.compile(
                rb"\bclass\s+\w+\s*\([^)]*\b"
                + word.encode()
                + rb"\b|\b"
                + word.encode()
                + rb"\s+as\b|=\s*"
                + word.encode()
                + rb"\s*$",
                re.M,
            )
            paths = sorted(self.index.tree.grep({word}))
            blobs = self.index.tree.read(paths)
            for path in paths:  # only the files where a class statement (or an alias) may name it: facts cost a parse
                if not subclassing.search(blobs.get(path, b"")):
                    continue
                facts = self.index.facts_for_path(path)
                for sub in facts.defs if facts is not None else ():
                    if sub.kind != "class" or not sub.bases or facts is None:
                        continue
                    value = self._def_value(facts, sub)
                    sub_key = class_key(value)
                    if sub_key == key or sub_key in found:
                        continue
                    if any(class_key(c) == key for c, _ in self._mro(value) if c.defn is not None):
                        found[sub_key] = value
                        words.append(sub.qualname.rsplit(".", 1)[-1])
            if len(found) > _MAX_CLASSES:
                self._subclass_sets[key] = None
                return None
        result = tuple(found[k] for k in sorted(found))
        self._subclass_sets[key] = result
        return result


def _attrs(cls: Value) -> set[str]:
    return {attr for attr, _, _ in cls.defn.attrs} if cls.defn is not None else set()


__all__ = ["Mixins"]
