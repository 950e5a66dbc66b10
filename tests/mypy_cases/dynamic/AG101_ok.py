import importlib

from dynamic import target


async def handler():
    mod = importlib.import_module("dynamic.target")
    await mod.build_async()
    fn = getattr(target, "build_async")
    await fn()
    other = getattr(target, "missing", None)
    await other()
    plugin = importlib.import_module("dynamic.not_there")
    await plugin.anything()
