"""Awaits that fail whatever the value: the type has no `__await__`, or only builtin members."""

from typing import Union


class Plain:
    pass


async def main(count: int, either: Union[int, str], plain: Plain) -> None:
    await count  # expect: AG101
    await either  # expect: AG101
    await plain  # expect: AG101
