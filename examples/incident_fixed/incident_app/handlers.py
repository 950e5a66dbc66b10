from incident_app.factory import get_manager


async def handle(name: str) -> str:
    manager = get_manager()
    return manager.greet(name)
