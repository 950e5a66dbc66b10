from protocols.svc import coro


def handler():
    return await coro()  # expect: AG106
