from unittest.mock import patch

from incident_app.handlers import handle


async def test_handle() -> None:
    with patch("incident_app.handlers.get_manager", autospec=True) as get_manager:
        get_manager.return_value.greet.return_value = "hello ada"
        assert await handle("ada") == "hello ada"
