"""Picking: an order's lines become a pick list in walking order, then picks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..clock import Clock, today
from ..models import Location, Movement, MovementKind
from ..sku import Sku, normalize_sku
from ..storage.memory import MemoryStore


class ShortPick(Exception):
    """Not enough stock for an order line."""


@dataclass(frozen=True)
class PickLine:
    sku: Sku
    location: Location
    quantity: int


def pick_list(store: MemoryStore, order: Iterable[tuple[str, int]]) -> list[PickLine]:
    """Lines of (SKU as the shop sent it, quantity), taken from the fewest locations,
    in the order a picker walks."""
    lines = []
    for code, wanted in order:
        item = store.find(normalize_sku(code))
        left = wanted
        for location, available in sorted(store.locations_of(item.sku), key=lambda p: -p[1]):
            take = min(left, available)
            lines.append(PickLine(item.sku, location, take))
            left -= take
            if left == 0:
                break
        if left:
            raise ShortPick(f"{item.sku}: {left} of {wanted} missing")
    return sorted(lines, key=lambda line: line.location.walk_order())


def pick(store: MemoryStore, lines: Iterable[PickLine], order_ref: str, clock: Clock = today) -> list[Movement]:
    moves = []
    for line in lines:
        move = Movement(MovementKind.PICK, line.sku, -line.quantity, line.location, clock(), order_ref)
        store.record(move)
        moves.append(move)
    return moves
