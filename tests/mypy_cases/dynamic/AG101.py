import importlib

from dynamic import target


async def handler():
    mod = importlib.import_module("dynamic.target")
    await mod.build()  # expect: AG101
    fn = getattr(target, "build")
    await fn()  # expect: AG101
    pkg = __import__("dynamic.target", fromlist=["build"])
    await pkg.build()  # expect: AG101
