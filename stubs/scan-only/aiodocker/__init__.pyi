# aiodocker 0.19-0.27: see docker.pyi (checked by tests/test_stubs.py).
from typing import Any

from .docker import Docker as Docker

def __getattr__(name: str) -> Any: ...
