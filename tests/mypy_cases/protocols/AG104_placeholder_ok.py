"""A base class's placeholder `async def` that subclasses implement as async generators."""


class Backend:
    async def _events(self):  # type: ignore[no-untyped-def]
        """Implemented by subclasses."""
        raise NotImplementedError

    async def run(self) -> None:
        async for event in self._events():
            print(event)


class MemoryBackend(Backend):
    async def _events(self):  # type: ignore[no-untyped-def]
        yield "event"
