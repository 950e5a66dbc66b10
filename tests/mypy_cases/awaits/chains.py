import functools


def timed(fn, name=None):
    async def wrapper(*args, **kwargs):
        return await fn(*args, **kwargs)

    return wrapper


def factory():
    async def inner():
        return 1

    return inner


def deco(fn):
    @functools.wraps(fn)
    async def wrapper(*args):
        return fn(*args)

    return wrapper


@deco
def decorated(x):
    return x


async def work(x=1):
    return x


def helper():
    return 1


class Conn:
    async def fetch(self):
        return 1

    def sync(self):
        return 1


class Pool:
    def acquire(self):
        return Conn()

    def method(self):
        return work


def make():
    return [work]
