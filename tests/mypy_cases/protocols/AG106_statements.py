from protocols.svc import asession, coro, rows


def handler():
    async with asession() as s:  # expect: AG106
        print(s)
    async for row in rows():  # expect: AG106
        print(row)
    async with coro():  # expect: AG106
        pass
    found = [row async for row in rows()]  # expect: AG106
    awaited = {await coro() for _ in range(2)}  # expect: AG106
    return found, awaited


class Settings:
    async with asession() as s:  # expect: AG106
        pass


async for row in rows():  # expect: AG106
    pass
