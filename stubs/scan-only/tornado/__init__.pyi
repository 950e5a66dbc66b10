# tornado 5.0-6.6: see web.pyi and websocket.pyi (checked by tests/test_stubs.py).
from typing import Any

def __getattr__(name: str) -> Any: ...
