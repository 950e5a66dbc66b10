from protocols.svc import asession, coro, rows, session


async def handler() -> int:
    value = await coro()
    if await coro():
        pass
    async with asession():
        pass
    with session():
        pass
    async for i in rows():
        value += i
    for j in [1, 2]:
        value += j
    return value


def untouched_errors_are_dropped() -> int:
    return "not an int"  # a plain type error: not awaitguard's business


class AwaitMount:
    """Schedules its work when created; awaiting it is optional (textual's pattern)."""

    def __await__(self):  # type: ignore[no-untyped-def]
        yield
        return None


def push_screen() -> AwaitMount:
    return AwaitMount()


def fire_and_forget() -> None:
    push_screen()  # an unused awaitable that is not a coroutine: not AG102
