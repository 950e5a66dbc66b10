from awaits import svc
from awaits.svc import Repo, get_manager, get_manager_async, typed_awaitable


async def handler():
    get_manager()
    await get_manager_async()
    await svc.forwards()
    await typed_awaitable()
    await Repo().save()
    return Repo().load()
