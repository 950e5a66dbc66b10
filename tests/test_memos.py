"""Per-process memos stay bounded: a long-lived process (dmypy, an editor) meets names without end; what is kept
per file's bytes answers every resolver of the process."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from awaitguard import callers, judge, refs, stores
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


def test_stored_names_are_kept_per_file_bytes_and_start_again_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores, "_STORED_NAMES_LIMIT", 3)
    monkeypatch.setattr(stores, "_STORED_NAMES", {})
    data = b"self.own = 1\nsink.write = other\nsink.write = more\nsetattr(sink, 'close', f)\nx.y == 2\n"
    assert stores._stored_names(data) == ("write", "close")
    assert stores._stored_names(data) is stores._stored_names(bytes(bytearray(data)))  # by bytes, not object
    for number in range(10):
        assert stores._stored_names(b"x.name_%d = 1\n" % number) == (f"name_{number}",)
        assert len(stores._STORED_NAMES) <= 4


def test_parsed_files_are_kept_per_file_bytes_and_start_again_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callers, "_PARSED_LIMIT", 3)
    monkeypatch.setattr(callers, "_PARSED", {})
    first = callers._parsed(b"value = compute()\n")
    assert first is not None and [type(n).__name__ for n in first.named["compute"]] == ["Name"]
    assert callers._parsed(b"value = compute()\n") is first
    assert callers._parsed(b"def broken(:\n") is None
    for number in range(10):
        assert callers._parsed(b"x = %d\n" % number) is not None
        assert len(callers._PARSED) <= 3


def test_preload_loads_what_is_not_loaded_once(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.py").write_text(f"class {name.upper()}(X, Y): ...\n")
    (tmp_path / "bad.py").write_text("def broken(:\n")
    index = Index(FsTree(tmp_path))
    assert index.facts_for_path("a.py") is not None and index.parsed == 1
    index.preload(["a.py", "b.py", "c.py", "bad.py"])
    assert index.parsed == 3 and len(index.notices) == 1
    assert [index.facts_for_path(p) is not None for p in ("a.py", "b.py", "c.py")] == [True, True, True]
    index.preload(["b.py", "c.py", "bad.py"])
    assert index.parsed == 3 and len(index.notices) == 1


def test_facts_of_the_same_bytes_are_shared_by_the_indexes_of_a_scan(tmp_path: Path) -> None:
    """A diff-scoped scan's index and HEAD hold the same bytes for the files a commit does not change: parsed once;
    other bytes at the path, or the same bytes at another path, are parsed again; an index sharing with none
    parses what it loads."""
    for folder, text in (("one", "async def f(): ...\n"), ("two", "async def f(): ...\n"), ("three", "def f(): ...\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text(text)
        (tmp_path / folder / "n.py").write_text(text)
    first, same, other, alone = (Index(FsTree(tmp_path / folder)) for folder in ("one", "two", "three", "two"))
    same.share_facts(first)
    other.share_facts(first)
    facts = first.facts_for_path("m.py")
    assert facts is not None and first.parsed == 1
    assert same.facts_for_path("m.py") is facts and same.parsed == 0
    assert other.facts_for_path("m.py") is not facts and other.parsed == 1
    assert same.facts_for_path("n.py") is not None and same.parsed == 1  # the same bytes at another path
    assert alone.facts_for_path("m.py") is not facts and alone.parsed == 1


INDEXED_SOURCE = '''
import asyncio

@decorate(run)
class Worker(Base, metaclass=Meta):
    """run"""
    handlers = {"run": run, **extra}

    async def run(self, *args: "Run", key=lambda x: x.run) -> None:
        async with self.lock as (a, b):
            result = [await job.run() for job in self.jobs if job.run]
        match result:
            case [first, *rest] if first.run:
                getattr(self, "run")(f"{self.run!r:>{width}}")
        return result.run(x := run, *args, **{"run": 1})
'''


def test_indexed_names_parents_and_definitions_match_a_full_walk() -> None:
    """``callsites.indexed`` (the callers' search's index of a module) skips the fields that hold no node a search
    asks about (contexts, operators): every named node is still found, in ``ast.walk``'s order, every def and
    class by its line, and every node but those leaves has its parent."""
    from awaitguard.callsites import indexed

    tree = ast.parse(INDEXED_SOURCE)
    parsed = indexed(tree)
    walked = list(ast.walk(tree))
    expected: dict[str, list[ast.AST]] = {}
    for node in walked:
        key = (
            node.id
            if isinstance(node, ast.Name)
            else node.attr
            if isinstance(node, ast.Attribute)
            else node.value
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            else None
        )
        if key is not None:
            expected.setdefault(key, []).append(node)
    assert parsed.named == expected
    assert len(parsed.named["run"]) == 13
    defs = [n for n in walked if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assert {line: [id(n) for n in nodes] for line, nodes in parsed.defined.items()} == {n.lineno: [id(n)] for n in defs}
    leaves = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
    for node in walked:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, leaves):
                assert parsed.parents[id(child)] is node
