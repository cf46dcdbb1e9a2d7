"""Items and stock as the HTTP API returns them."""

from __future__ import annotations

from typing import Any

from ..models import Item
from ..storage.memory import MemoryStore
from ..units import describe


def item_body(item: Item, store: MemoryStore) -> dict[str, Any]:
    on_hand = store.on_hand(item.sku)
    return {
        "sku": str(item.sku),
        "name": item.name,
        "on_hand": on_hand,
        "on_hand_text": describe(on_hand, item.base_unit),
        "locations": [{"location": str(loc), "quantity": q} for loc, q in store.locations_of(item.sku)],
        "reorder": bool(item.order_quantity) and on_hand <= item.reorder_point,
    }
