import abc
from collections.abc import AsyncIterator


class Source(abc.ABC):
    @abc.abstractmethod
    async def rows(self) -> AsyncIterator[int]:
        """Yield rows."""


async def first(source: Source) -> None:
    await source.rows()  # expect: AG101
