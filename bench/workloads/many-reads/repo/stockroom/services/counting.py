"""Cycle counts: a counted sheet is compared with the ledger; differences are adjusted."""

from __future__ import annotations

from collections.abc import Iterable

from ..clock import Clock, today
from ..models import Location, Movement, MovementKind
from ..sku import normalize_sku
from ..storage.memory import MemoryStore


def apply_count(store: MemoryStore, sheet: Iterable[tuple[str, str, int]], clock: Clock = today) -> list[Movement]:
    """Rows of (location code, SKU as written by the counter, counted quantity)."""
    adjustments = []
    for code, sku_text, counted in sheet:
        location = Location.parse(code)
        item = store.find(normalize_sku(sku_text))
        diff = counted - store.on_hand(item.sku, location)
        if diff:
            move = Movement(MovementKind.ADJUSTMENT, item.sku, diff, location, clock(), "count")
            store.record(move)
            adjustments.append(move)
    return adjustments
