# Awaitability-relevant surface of Django Channels 4.x (checked by tests/test_stubs.py).
from typing import Any

def __getattr__(name: str) -> Any: ...
