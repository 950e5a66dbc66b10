def build() -> dict[str, str]:
    return {}


async def build_async() -> dict[str, str]:
    return {}
