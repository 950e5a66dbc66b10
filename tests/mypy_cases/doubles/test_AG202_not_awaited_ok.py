from unittest.mock import MagicMock, patch


def test_sync_double_over_an_async_def_nothing_awaits() -> None:
    # `work` is only handed to `asyncio.create_task`: a runner that takes both kinds may call it
    with patch("doubles.impl.work", new=MagicMock()):
        pass
