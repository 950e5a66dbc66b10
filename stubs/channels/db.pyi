from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, overload

_P = ParamSpec("_P")
_R = TypeVar("_R")

# DatabaseSyncToAsync(func) wraps a sync callable; calling the wrapper returns a coroutine.
@overload
def database_sync_to_async(func: Callable[_P, _R], /) -> Callable[_P, Coroutine[Any, Any, _R]]: ...
@overload
def database_sync_to_async(
    *, thread_sensitive: bool = ...
) -> Callable[[Callable[_P, _R]], Callable[_P, Coroutine[Any, Any, _R]]]: ...
async def aclose_old_connections() -> None: ...
