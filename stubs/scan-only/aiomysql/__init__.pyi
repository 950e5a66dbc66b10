# aiomysql 0.0.20-0.3: see connection.pyi (checked by tests/test_stubs.py).
from typing import Any

from .connection import Connection as Connection
from .connection import connect as connect

def __getattr__(name: str) -> Any: ...
