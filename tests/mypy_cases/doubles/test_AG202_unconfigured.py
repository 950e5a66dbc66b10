from unittest.mock import MagicMock, patch

from doubles.svc import Gateway


def test_named_but_never_configured() -> None:
    gateway = Gateway()
    with patch.object(gateway, "refresh", new=MagicMock()) as refresh:  # expect: AG202
        assert not refresh.called


@patch("doubles.svc.fetch_user", new_callable=MagicMock)  # expect: AG202
def test_decorated_never_configured(fetch: MagicMock) -> None:
    assert not fetch.called
