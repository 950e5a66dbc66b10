"""Per-process memos stay bounded: a long-lived process (dmypy, an editor) meets names without end."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from awaitguard import judge, refs
from awaitguard.facts import collect
from awaitguard.index import Index
from awaitguard.resolve import Resolver
from awaitguard.tree import FsTree


def test_name_refs_start_again_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refs, "MEMO_LIMIT", 3)
    monkeypatch.setattr(refs, "_NAME_REFS", {})
    for number in range(10):
        assert refs.ref_of(ast.parse(f"name_{number}", mode="eval").body) == (f"n:name_{number}",)
        assert len(refs._NAME_REFS) <= 3


def test_short_names_start_again_at_the_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(judge, "MEMO_LIMIT", 2)
    monkeypatch.setattr(judge, "_SHORT_NAMES", {})
    source = b"def main():\n" + b"".join(b"    client.call_%d()\n" % n for n in range(6))
    facts = collect("app.py", "app", False, source)
    assert len(facts.sites) == 6
    index = Index(FsTree(tmp_path))
    assert judge.run_rules(Resolver(index), facts, names={"call_5"}) == []
    assert 0 < len(judge._SHORT_NAMES) <= 2
