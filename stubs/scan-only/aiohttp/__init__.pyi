# Awaitability-relevant surface of aiohttp 3.0-3.14 and 4.0 alphas (checked by tests/test_stubs.py):
# what every one of those releases agrees on. A name this stub does not list is unknown.
from typing import Any

from .client import ClientSession as ClientSession
from .client_reqrep import ClientResponse as ClientResponse
from .client_ws import ClientWebSocketResponse as ClientWebSocketResponse

def __getattr__(name: str) -> Any: ...
