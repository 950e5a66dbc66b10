class Entry:
    def __aenter__(self) -> int:
        return 1

    async def __aexit__(self, *exc: object) -> None:
        return None


class Ticker:
    def __aiter__(self) -> "Ticker":
        return self

    def __anext__(self) -> int:
        return 1


class Neither:
    pass


async def handler() -> None:
    async with Entry():  # expect: AG103
        pass
    async for i in Ticker():  # expect: AG104
        pass
    async with Neither():  # expect: AG103
        pass
