from doubles.impl import fetch_order, spawn

__all__ = ["fetch_order", "spawn"]
