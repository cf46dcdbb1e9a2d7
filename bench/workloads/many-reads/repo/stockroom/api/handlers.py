"""Handlers of the HTTP API (the framework calls them with the parsed request)."""

from __future__ import annotations

from typing import Any

from ..sku import SkuError, normalize_sku
from ..storage.memory import MemoryStore, UnknownItem
from .errors import bad_request, not_found
from .serializers import item_body


def get_item(store: MemoryStore, sku_text: str) -> dict[str, Any]:
    """GET /items/{sku}: the SKU as the client typed or scanned it."""
    if not sku_text.strip():
        raise bad_request("an empty SKU")
    try:
        item = store.find(normalize_sku(sku_text))
    except (UnknownItem, SkuError):
        raise not_found(f"item {sku_text.strip()}") from None
    return item_body(item, store)


def search(store: MemoryStore, text: str) -> list[dict[str, Any]]:
    """GET /items?q=: items whose name holds all the words of the query."""
    words = text.lower().split()
    found = [i for i in store.items.values() if all(w in i.name.lower() for w in words)]
    return [item_body(i, store) for i in sorted(found, key=lambda i: str(i.sku))]
