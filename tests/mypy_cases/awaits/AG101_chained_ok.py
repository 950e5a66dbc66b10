import functools

from awaits.chains import Pool, decorated, factory, make, timed, work


async def handler(pool: Pool):
    # each call below is a plain `def` that returns an async function or an object: what is
    # awaited is that function's coroutine, or an attribute's
    await timed(work, "x")(1)
    await factory()()
    await pool.method()(2)
    await Pool().method()(3)
    await pool.acquire().fetch()
    await make()[0]()
    await (lambda: work())()
    await functools.partial(work)()
    await decorated(1)
