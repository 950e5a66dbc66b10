# dbus-next 0.1.1-0.2.3: see message_bus.pyi and aio/ (checked by tests/test_stubs.py).
from typing import Any

def __getattr__(name: str) -> Any: ...
