from collections.abc import Awaitable


def get_manager():
    return {"mode": "prod"}


async def get_manager_async():
    return {"mode": "prod"}


def charge(amount):
    return amount > 0


def forwards():
    return get_manager_async()


def typed_sync() -> int:
    return 1


def typed_awaitable() -> Awaitable[int]:
    return _one()


async def _one() -> int:
    return 1


class Repo:
    def load(self):
        return []

    async def save(self):
        return None
