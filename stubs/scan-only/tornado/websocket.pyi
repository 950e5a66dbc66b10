# tornado 5.0-6.6: websockets (checked by tests/test_stubs.py). `close` returns None on both ends in
# every one of those releases; `write_message`/`read_message` (a Future) and the hooks a handler
# overrides (`open`, `on_message`, `on_close`, `get`) are left out: a name not listed is unknown.
from typing import Any

from tornado.web import RequestHandler

class WebSocketHandler(RequestHandler):
    def close(self, code: int | None = ..., reason: str | None = ...) -> None: ...

class WebSocketClientConnection:
    def close(self, code: int | None = ..., reason: str | None = ...) -> None: ...

def __getattr__(name: str) -> Any: ...
