from unittest.mock import MagicMock, patch


def test_reexported_async_target() -> None:
    with patch("doubles.api.fetch_order", new=MagicMock()):  # expect: AG202
        pass
