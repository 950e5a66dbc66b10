from unittest.mock import MagicMock, patch


def test_def_returning_a_task() -> None:
    # `spawn` is a plain def: a sync double fits wherever the task is not awaited
    with patch("doubles.api.spawn", new=MagicMock()):
        pass
    with patch("doubles.impl.spawn", new=MagicMock()):
        pass
