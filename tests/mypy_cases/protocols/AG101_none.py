"""`await` of a call whose def is declared `-> None`: it fails whatever the call does."""


class JobQueue:
    def start(self) -> None:
        pass


def reset() -> None:
    pass


async def main() -> None:
    await JobQueue().start()  # expect: AG101
    await reset()  # expect: AG101
