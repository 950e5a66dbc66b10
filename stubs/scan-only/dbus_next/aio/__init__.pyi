# dbus-next 0.1.1-0.2.3: the asyncio message bus (checked by tests/test_stubs.py).
from typing import Any

from .message_bus import MessageBus as MessageBus

def __getattr__(name: str) -> Any: ...
