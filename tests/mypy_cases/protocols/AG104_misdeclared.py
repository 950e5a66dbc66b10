"""An async generator annotated `-> Iterator[int]`: the annotation is wrong, not the caller."""

from collections.abc import Iterator


async def ticks() -> Iterator[int]:  # mypy's own complaint about the annotation is not ours
    yield 1


class Feed:
    async def items(self) -> Iterator[str]:
        yield "a"


async def reader(feed: Feed) -> None:
    async for tick in ticks():  # works at run time: not reported, and never "use `for`"
        print(tick)
    async for item in feed.items():
        print(item)
    for late in ticks():  # expect: AG104
        print(late)
