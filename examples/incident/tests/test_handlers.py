from unittest.mock import AsyncMock, Mock, patch

from incident_app.handlers import handle


async def test_handle() -> None:
    manager = Mock(greet=Mock(return_value="hello ada"))
    with patch("incident_app.handlers.get_manager", new=AsyncMock(return_value=manager)):
        assert await handle("ada") == "hello ada"
