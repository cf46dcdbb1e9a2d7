"""The store: items, and the ledger of movements from which every stock figure comes."""

from __future__ import annotations

from collections import defaultdict

from ..models import Item, Location, Movement
from ..sku import Sku


class UnknownItem(KeyError):
    pass


class MemoryStore:
    def __init__(self) -> None:
        self.items: dict[Sku, Item] = {}
        self.ledger: list[Movement] = []
        self._stock: dict[tuple[Sku, Location], int] = defaultdict(int)

    def add_item(self, item: Item) -> None:
        self.items[item.sku] = item

    def item(self, sku: Sku) -> Item:
        try:
            return self.items[sku]
        except KeyError:
            raise UnknownItem(str(sku)) from None

    def find(self, code: str) -> Item:
        """The item of a SKU in its canonical spelling (``AB-0123``)."""
        for sku, item in self.items.items():
            if str(sku) == code:
                return item
        raise UnknownItem(code)

    def record(self, movement: Movement) -> None:
        key = (movement.sku, movement.location)
        if self._stock[key] + movement.quantity < 0:
            raise ValueError(f"not enough {movement.sku} at {movement.location}")
        self._stock[key] += movement.quantity
        self.ledger.append(movement)

    def on_hand(self, sku: Sku, location: Location | None = None) -> int:
        if location is not None:
            return self._stock[(sku, location)]
        return sum(q for (s, _), q in self._stock.items() if s == sku)

    def locations_of(self, sku: Sku) -> list[tuple[Location, int]]:
        return sorted((loc, q) for (s, loc), q in self._stock.items() if s == sku and q > 0)
