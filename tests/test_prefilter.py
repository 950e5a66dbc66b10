"""The byte-level shortcuts of a full scan agree with the definitions they stand for."""

from __future__ import annotations

import pytest

from awaitguard.engine import _FROM_IMPORT, _NEEDS_PARSE, from_imports, needs_parse

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
