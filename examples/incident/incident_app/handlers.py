from incident_app.factory import get_manager


async def handle(name: str) -> str:
    manager = await get_manager()  # the bug: get_manager is a plain `def`
    return manager.greet(name)
