"""An `async def` annotated `-> Awaitable[int]`: awaiting it once gives an `Awaitable[int]` by the
types, an int at run time. mypy notes "maybe you forgot to use await" where the result is used; the
call *was* awaited, and "add `await`" would break the code. Only a coroutine is AG102."""

from collections.abc import Awaitable


async def count() -> Awaitable[int]:  # the annotation's bug: the body returns an int
    return 3  # mypy: incompatible return value (not ours)


async def use() -> int:
    total = await count()
    return total + 1  # mypy: Unsupported operand types, "maybe you forgot to use await"
