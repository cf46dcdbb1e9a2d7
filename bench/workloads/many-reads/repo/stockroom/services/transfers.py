"""Transfers: moving stock between two locations (put-away, replenishment)."""

from __future__ import annotations

from ..clock import Clock, today
from ..models import Location, Movement, MovementKind
from ..sku import Sku
from ..storage.memory import MemoryStore


def transfer(store: MemoryStore, sku: Sku, quantity: int, source: Location, target: Location,
             clock: Clock = today, reference: str = "") -> tuple[Movement, Movement]:
    if quantity <= 0:
        raise ValueError("a transfer moves a positive quantity")
    if source == target:
        raise ValueError("source and target are the same location")
    out = Movement(MovementKind.TRANSFER, sku, -quantity, source, clock(), reference)
    store.record(out)
    back = Movement(MovementKind.TRANSFER, sku, quantity, target, clock(), reference)
    store.record(back)
    return out, back


def put_away(store: MemoryStore, sku: Sku, target: Location, clock: Clock = today) -> int:
    """Everything of ``sku`` at the inbound location goes to ``target``."""
    from .receiving import INBOUND

    quantity = store.on_hand(sku, INBOUND)
    if quantity:
        transfer(store, sku, quantity, INBOUND, target, clock, "put-away")
    return quantity
