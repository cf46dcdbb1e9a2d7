"""Receiving: a supplier's delivery note becomes receipts at the inbound location."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..clock import Clock, today
from ..models import Location, Movement, MovementKind
from ..sku import normalize_sku
from ..storage.memory import MemoryStore
from ..units import to_base

INBOUND = Location("Z", 1, 0)


@dataclass(frozen=True)
class NoteLine:
    sku: str  # as printed on the note
    quantity: float
    unit: str = "pc"


def receive(store: MemoryStore, note: str, lines: Iterable[NoteLine], clock: Clock = today) -> list[Movement]:
    moves = []
    for line in lines:
        item = store.find(normalize_sku(line.sku))
        qty, base = to_base(line.quantity, line.unit)
        if base != item.base_unit:
            raise ValueError(f"{item.sku} is kept in {item.base_unit}, the note says {line.unit}")
        move = Movement(MovementKind.RECEIPT, item.sku, qty, INBOUND, clock(), note)
        store.record(move)
        moves.append(move)
    return moves
