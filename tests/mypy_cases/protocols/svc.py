import contextlib
from collections.abc import AsyncIterator, Iterator


async def coro() -> int:
    return 1


@contextlib.contextmanager
def session() -> Iterator[str]:
    yield "s"


@contextlib.asynccontextmanager
async def asession() -> AsyncIterator[str]:
    yield "s"


async def rows() -> AsyncIterator[int]:
    yield 1
