from unittest.mock import AsyncMock, MagicMock, Mock, patch

from pytest_mock import MockerFixture

from doubles.svc import Gateway, fetch_user


def test_unittest_forms():
    with patch("doubles.svc.fetch_user", new_callable=AsyncMock):
        pass
    with patch("doubles.svc.charge", new_callable=AsyncMock, autospec=True):
        pass
    with patch("doubles.svc.charge", new=MagicMock()):
        pass
    with patch("doubles.svc.fetch_user"):
        pass
    with patch("doubles.svc.fetch_user", new=Mock(side_effect=fetch_user)):
        pass
    with patch.object(Gateway, "refresh", new=AsyncMock()):
        pass
    with patch.object(Gateway, "refund", autospec=True):
        pass
    with patch.multiple("doubles.svc", charge=MagicMock(), fetch_user=AsyncMock()):
        pass


def test_pytest_mock(mocker: MockerFixture):
    mocker.patch("doubles.svc.fetch_user", new_callable=AsyncMock)
    mocker.patch.object(Gateway, "refund", new=MagicMock())
