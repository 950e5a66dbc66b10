from protocols.svc import coro

await coro()  # expect: AG106
