def charge(amount):
    return amount > 0


async def fetch_user():
    return {"id": 1}


def typed_sync(amount: int) -> bool:
    return amount > 0


class Gateway:
    def refund(self):
        return None

    async def refresh(self):
        return None
