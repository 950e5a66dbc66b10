"""Production code that awaits the async targets the tests replace (AG202 needs such an await)."""

from doubles import api
from doubles.svc import Gateway, fetch_user


async def profile() -> None:
    await fetch_user()
    gateway = Gateway()
    await gateway.refresh()
    await api.fetch_order(1)
