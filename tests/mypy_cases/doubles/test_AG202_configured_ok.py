import asyncio
from unittest.mock import MagicMock, Mock, patch

from pytest_mock import MockerFixture

from doubles.svc import Gateway


async def test_with_as_configured() -> None:
    gateway = Gateway()
    with patch.object(gateway, "refresh", new=MagicMock()) as refresh:
        refresh.return_value = asyncio.get_running_loop().create_future()
        refresh.return_value.set_result(None)
        await gateway.refresh()


async def test_assigned_then_configured(mocker: MockerFixture) -> None:
    fetch = mocker.patch("doubles.svc.fetch_user", new_callable=Mock)
    fetch.configure_mock(side_effect=lambda: asyncio.sleep(0))


@patch("doubles.svc.fetch_user", new_callable=MagicMock)
async def test_decorated_then_configured(fetch: MagicMock) -> None:
    fetch.return_value = asyncio.get_running_loop().create_future()
    fetch.return_value.set_result({"id": 1})
