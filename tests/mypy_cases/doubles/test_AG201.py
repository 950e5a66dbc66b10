from unittest.mock import AsyncMock, MagicMock, Mock, patch

from pytest_mock import MockerFixture

from doubles.svc import Gateway


async def async_fake(amount):
    return True


def sync_fake():
    return None


def test_unittest_forms():
    with patch("doubles.svc.charge", new_callable=AsyncMock):  # expect: AG201
        pass
    with patch("doubles.svc.typed_sync", new=AsyncMock()):  # expect: AG201
        pass
    with patch("doubles.svc.charge", new=async_fake):  # expect: AG201
        pass
    with patch.object(Gateway, "refund", new=AsyncMock()):  # expect: AG201
        pass
    with patch("doubles.svc.fetch_user", new=MagicMock()):  # expect: AG202
        pass
    with patch("doubles.svc.fetch_user", new_callable=Mock):  # expect: AG202
        pass
    with patch.object(Gateway, "refresh", sync_fake):  # expect: AG202
        pass
    with patch.multiple("doubles.svc", charge=AsyncMock(), fetch_user=MagicMock()):  # expect: AG201, AG202
        pass


@patch("doubles.svc.charge", new_callable=AsyncMock)  # expect: AG201
def test_decorator(mocked):
    pass


def test_pytest_mock(mocker: MockerFixture):
    mocker.patch("doubles.svc.charge", new_callable=AsyncMock)  # expect: AG201
    mocker.patch.object(Gateway, "refresh", new=MagicMock())  # expect: AG202
