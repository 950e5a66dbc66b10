from collections.abc import Coroutine
from typing import Any, Optional


async def report(pending: Optional[Coroutine[Any, Any, int]]) -> None:
    # may be None: the attribute fails on None as well, and "add await" is not the fix
    print(pending.real)
