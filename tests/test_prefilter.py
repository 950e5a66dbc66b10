"""The byte-level shortcuts of a full scan agree with the definitions they stand for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from awaitguard import engine
from awaitguard.config import Config
from awaitguard.facts import collect
from awaitguard.prefilter import (
    _FROM_IMPORT,
    _IS_ASYNC,
    _NEEDS_PARSE,
    _PATCH_CALL,
    _patch_call_matches,
    assigned_names,
    async_generator_methods,
    from_imports,
    is_async,
    needs_parse,
    patch_call_words,
    patch_could_matter,
)
from awaitguard.resolve import definitions_of
from awaitguard.tree import FsTree

SAMPLES = [
    b"",
    b"x = 1\n",
    b"await x",
    b"x = await y\n",
    b"awaited = 1\n",
    b"_await = 1\n",
    b"await_",
    b"y.await\n",
    b"async def f(): pass\n",
    b"async\tdef f(): pass\n",
    b"async  with a: pass\n",
    b"async for x in y: pass\n",
    b"async defx",
    b"asyncdef f",
    b"my_async def",
    b"async\n def",
    b"async",
    b"async ",
    b"x.async_ def async for",
    b"from unittest.mock import patch\n",
    b"patcher = 1\n",
    b"dispatch(x)\n",
    b"setattr(a, 'b', 1)\n",
    b"monkeypatch.setattr_x\n",
    b"Mock()",
    b"MagicMock()",
    b"AsyncMock",
    b"NonMock()",
    b"Mocker()",
    b"MockAsyncMock",
    b"x=Mock",
    "café = await x\n".encode(),
    "éawait".encode(),
    "awaité".encode(),
    b"\xffawait\xff",
    b"1await",
    b"async9 def",
    b"asyncawait",
    b"async async def",
    b"a" * 100 + b"patch",
]


@pytest.mark.parametrize("blob", SAMPLES)
def test_needs_parse_is_the_regex(blob: bytes) -> None:
    assert needs_parse(blob) == bool(_NEEDS_PARSE.search(blob))
    assert is_async(blob) == bool(_IS_ASYNC.search(blob))


PATCH_CALLS = [
    (b'with patch("app.fetch_user", new=MagicMock(return_value=x)):\n', {"fetch_user", "MagicMock", "x"}),
    (b'patch.object(redis.Redis, "get", fake_get)', {"get", "fake_get"}),  # not the object patched
    (b'mocker.patch.object(\n    Client,\n    "get",\n    new=helpers.fake,\n)', {"get", "helpers", "fake"}),
    (b'monkeypatch.setattr(mod, "fetch", lambda: 1); setattr(a, "b", c)', {"fetch", "lambda"}),
    (b'patch.multiple("mod", fetch=DEFAULT, create=True)', {"fetch", "DEFAULT"}),
    (b'monkeypatch.setattr("a.b.c", helpers.fake)', {"c", "helpers", "fake"}),
    (b'monkeypatch\n    .setattr(x, "fetch", f)', {"fetch", "f"}),
    (b'patch("a.fetch", new_callable=Factory)', {"fetch", "Factory"}),
    (b'patch("a." "fetch", new=f)', {"fetch", "f"}),  # implicitly joined strings
    (b'patch("a(b", new=f)', {"a(b", "f"}),  # a bracket inside a string is hidden with the string
    (b'patch("a\\"b", new=f)', None),  # an escape: the target cannot be read from bytes
    (b"dispatch(x); patcher(y); setattr(a, 'b', c)", set()),
    (b'with (patch\n    ("a.fetch", new=f)):', {"fetch", "f"}),  # line breaks inside brackets
    (b'mock.patch \\\n    .object(C, "get", f)', {"get", "f"}),  # a backslash continuation
    (b"patch(x", None),  # no end within reach: counts as mattering
    # calls the facts walk makes no site of: no names
    (b'@patch("a.b.c")\ndef test(): pass', set()),  # no double: a MagicMock, never judged
    (b'mocker.patch("a.fetch", return_value=make(x))', set()),
    (b'patch("a.fetch", new=f, autospec=True)', set()),
    (b'patch.object(C, "fetch", f, spec=C.fetch)', set()),
    (b'self.patch(reactor, "callLater", fake)', set()),  # trial's TestCase.patch: no target string
    (b'runner.setattr(x, "fetch", f)', set()),  # not a monkeypatch
]


@pytest.mark.parametrize("blob", [blob for blob, _ in PATCH_CALLS] + SAMPLES + [b"patchsetattr(patch (x) setattr\\\n("])
def test_patch_calls_are_found_where_the_regex_finds_them(blob: bytes) -> None:
    spans = sorted(match.span() for match in _patch_call_matches(blob))
    assert spans == [match.span() for match in _PATCH_CALL.finditer(blob)]


@pytest.mark.parametrize(("blob", "words"), PATCH_CALLS)
def test_patch_call_words(blob: bytes, words: set[str] | None) -> None:
    assert patch_call_words(blob) == words


def test_patch_could_matter() -> None:
    names = {"fetch_user", "get"}
    assert patch_could_matter(b'patch("app.fetch_user", new=Mock())', names)
    assert patch_could_matter(b'patch.object(Client, "get", Mock())', names)
    assert not patch_could_matter(b'patch.object(get, "close", Mock())', names)
    assert not patch_could_matter(b'patch("os.getcwd", new=Mock())', names)
    assert patch_could_matter(b'patch("os.getcwd", new=AsyncMock())', names)
    assert patch_could_matter(b"x = AsyncMock()\npatch('os.getcwd', new=x)", names)
    assert patch_could_matter(b"patch('os.getcwd', new=", names)


def test_assigned_names() -> None:
    blob = b"s.fetch = MagicMock()\n(s.close) = Mock()\nif s.ready == 1: pass\ns.count += 1\ns . send \\\n = 3\n"
    assert assigned_names(blob) == {"fetch", "close", "send"}
    names = {"fetch"}
    assert patch_could_matter(b"gateway.fetch = MagicMock()\n", names, assigns=True)
    assert not patch_could_matter(b"gateway.fetch = MagicMock()\n", names)  # not test code
    assert not patch_could_matter(b"gateway.close = MagicMock()\n", names, assigns=True)
    assert patch_could_matter(b"gateway.close = AsyncMock()\n", names, assigns=True)


def test_sync_test_files_assigning_mocks_are_parsed_when_they_could_matter(tmp_path: Path) -> None:
    app = "class Client:\n    async def fetch(self):\n        return 1\n\n\nasync def use(c: Client):\n"
    (tmp_path / "app.py").write_text(app + "    await c.fetch()\n")
    (tmp_path / "helpers.py").write_text("from app import Client\n\n\ndef make() -> Client:\n    return Client()\n")
    double = (
        "from unittest.mock import MagicMock\nfrom helpers import make\n\nclient = make()\nclient.{} = MagicMock()\n"
    )
    (tmp_path / "test_related.py").write_text(double.format("fetch"))  # imports nothing async
    (tmp_path / "test_unrelated.py").write_text(double.format("label"))
    (tmp_path / "offline.py").write_text(double.format("fetch"))  # not test code: no double there
    settings = Config(root=tmp_path, libraries=False)
    index = engine.make_index(settings, FsTree(tmp_path), cache=False, workers=1)
    result = engine.scan_tree(index)
    assert result.files_total == 5
    # app.py, helpers.py (imports an async class), test_related.py, and offline.py: read for its store of `fetch`
    # (``stores.replaced_outside``), a mock, which replaces nothing AG202 judges
    assert result.files_parsed == 4
    assert [(f.path, f.code) for f in result.findings] == [("test_related.py", "AG202")]


def test_sync_files_whose_patches_name_nothing_async_are_not_parsed(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("async def fetch():\n    return 1\n\n\nasync def main():\n    await fetch()\n")
    (tmp_path / "test_related.py").write_text("from unittest.mock import Mock, patch\n\npatch('app.fetch', Mock())\n")
    (tmp_path / "test_unrelated.py").write_text("from unittest.mock import Mock, patch\n\npatch('os.getcwd', Mock())\n")
    # the async target, but no double given (a MagicMock, never judged) or its signature kept
    (tmp_path / "test_no_double.py").write_text(
        "from unittest.mock import Mock, patch\n\npatch('app.fetch')\npatch('app.fetch', Mock(), autospec=True)\n"
    )
    (tmp_path / "plain.py").write_text("import os\n\nprint(os.getcwd())\n")
    settings = Config(root=tmp_path, libraries=False)
    index = engine.make_index(settings, FsTree(tmp_path), cache=False, workers=1)
    result = engine.scan_tree(index)
    assert result.files_total == 5
    assert result.files_parsed == 2
    assert [(f.path, f.code) for f in result.findings] == [("test_related.py", "AG202")]


def test_sync_files_iterating_an_async_generator_method_by_name_are_parsed(tmp_path: Path) -> None:
    client = "class Client:\n    async def iter_dialogs(self, n):\n        yield n\n\n    async def scan_iter(self):\n"
    client += "        yield 1\n\n\ndef build():\n"
    (tmp_path / "client.py").write_text(client + "    return Box(Client())\n\n\nfrom box import Box\n")
    # imports nothing async: read for its `for` over `.iter_dialogs(...)`; the client is known from its callers
    box = "class Box:\n    def __init__(self, client):\n        self._client = client\n\n    def first(self):\n"
    (tmp_path / "box.py").write_text(box + "        for d in self._client.iter_dialogs(1):\n            return d\n")
    (tmp_path / "other.py").write_text("def names(x):\n    return [d for d in x.iter_dialogs_sync()]\n")
    (tmp_path / "comment.py").write_text("# for d in client.iter_dialogs(1):\nx = 1\n")
    # `scan_iter` is a sync def's name too (a sync client beside the async one): which one is iterated is unsaid
    (tmp_path / "sync_client.py").write_text("class SyncClient:\n    def scan_iter(self):\n        return [1]\n")
    (tmp_path / "use.py").write_text("def keys(c):\n    for k in c.scan_iter():\n        print(k)\n")
    settings = Config(root=tmp_path, libraries=False)
    index = engine.make_index(settings, FsTree(tmp_path), cache=False, workers=1)
    result = engine.scan_tree(index)
    assert result.files_total == 6
    assert result.files_parsed == 2  # client.py, box.py
    assert [(f.path, f.code) for f in result.findings] == [("box.py", "AG104")]


IMPORT_SAMPLES = [
    b"",
    b"from a import b\n",
    b"from a import b",
    b"  from .a.b import (c,\n d as e)\nfrom x import y\n",
    b"x = 1\nfrom\timport\n\tfrom ..p import q, r\n",
    b"# from a import b\nimport os\n",
    b"s = 'from a import b'\n",
    b"from_a = 1\nfromage import x\n",
    b"from a import (b,\nfrom c import d)\nfrom e import f\n",
    b"from a import (\n  b,  # )\n  c)\n",
    b"from a import (b\n",
    b"\r\nfrom a import b\r\nfrom c import d\r\n",
    b"if x:\n    from a import b; from c import d\n",
    b"from . import x\nfrom .. import (y)\n",
    b"fromfrom a import b\nfrom from a import b\n",
]


@pytest.mark.parametrize("blob", IMPORT_SAMPLES)
def test_from_imports_is_the_regex(blob: bytes) -> None:
    expected = [(m.span(), m.groups()) for m in _FROM_IMPORT.finditer(blob)]
    assert [(m.span(), m.groups()) for m in from_imports(blob)] == expected


DEFINITION_SAMPLES = [
    b"",
    b"def run(self):\n    pass\n",
    b"async def run(self):\n    pass\n",
    b"    async\tdef run(self): ...\n",
    b"class A:\n    def run(self): ...\n    async def run(self): ...\n",
    b"run = make()\n",
    b"    run: Callable[[], None] = make()\n",
    b"self.run = other\n",
    b"self.run == other\n",
    b"x.run(1)\nrun(2)\n",
    b"def runner(self): ...\ndef run_all(): ...\nrerun = 1\n",
    b"f(run=1)\n",
    b"def run\n",
    b"async def run",
    b"# def run(self)\n",
    b"x = 1; run = 2\n",
    b"  run=3\nobj . run = 4\n",
]


@pytest.mark.parametrize("blob", DEFINITION_SAMPLES)
def test_definitions_of_is_the_regex(blob: bytes) -> None:
    """``resolve.definitions_of`` (a substring search, then the line) finds what the pattern it replaced
    finds, in the same order: a def of the word, async or not, or an assignment of it."""
    pattern = re.compile(rb"^[ \t]*(async[ \t]+)?def[ \t]+run\b|(?:^[ \t]*|\.)run[ \t]*(?::[^=\n]*)?=(?!=)", re.M)
    expected = [match.group(0).lstrip()[:5] == b"async" for match in pattern.finditer(blob)]
    assert list(definitions_of(blob, b"run")) == expected


@pytest.mark.parametrize("blob", DEFINITION_SAMPLES)
def test_sync_defs_of_async_generator_methods_are_found_where_the_regex_finds_them(blob: bytes) -> None:
    """``async_generator_methods`` drops a name a sync `def` of another file shares, found as the pattern
    it replaced found it (a `def` at a line start, or after a blank that does not follow `async`)."""
    pattern = re.compile(rb"(?:^|(?<!async)[ \t])def[ \t]+(run)\b", re.M)
    facts = collect("m.py", "m", False, b"class A:\n    async def run(self):\n        yield 1\n")
    assert async_generator_methods([facts], [blob]) == (set() if pattern.search(blob) else {"run"})
