import asyncio
from unittest import mock

from doubles.svc import Gateway


def make_refresh_double() -> mock.Mock:
    """A helper that builds the double; the test decides what calling it gives."""
    return mock.Mock()


async def test_configured_after_patching() -> None:
    gateway = Gateway()
    with mock.patch.object(gateway, "refresh", make_refresh_double()) as refresh:
        refresh.return_value = asyncio.get_running_loop().create_future()
        refresh.return_value.set_result(None)
        await gateway.refresh()
