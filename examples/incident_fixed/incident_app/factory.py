class Manager:
    def greet(self, name: str) -> str:
        return f"hello {name}"


def get_manager() -> Manager:
    return Manager()
