from protocols.svc import asession, coro, rows


def handler(items):
    # async generator expressions: legal in any function, only their first iterable runs here
    pending = (await item for item in items)
    streamed = (row async for row in rows())
    return pending, streamed


async def served():
    async with asession() as s:
        print(s)
    async for row in rows():
        print(row)
    return [row async for row in rows()], {await coro() for _ in range(2)}
