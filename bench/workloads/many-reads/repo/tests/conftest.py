"""A small warehouse to test against. BENCH_SCALE (the file at the root) scales the
simulation work of the reorder tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from stockroom.clock import FixedClock
from stockroom.models import Item, Location, Movement, MovementKind
from stockroom.sku import Sku
from stockroom.storage.memory import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
SCALE = float((ROOT / "BENCH_SCALE").read_text().strip() or 1)

BOLTS = Sku("AB", 123)
NUTS = Sku("AB", 124)
OIL = Sku("LUB", 7)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.date(2024, 3, 1))


@pytest.fixture
def store(clock: FixedClock) -> MemoryStore:
    s = MemoryStore()
    s.add_item(Item(BOLTS, "Hex bolt M8x40", reorder_point=100, order_quantity=500, supplier="FAS"))
    s.add_item(Item(NUTS, "Hex nut M8", reorder_point=200, order_quantity=1000, supplier="FAS"))
    s.add_item(Item(OIL, "Cutting oil", base_unit="ml", reorder_point=2000, order_quantity=10000))
    for sku, loc, qty in [(BOLTS, "A01-1", 80), (BOLTS, "B03-2", 40), (NUTS, "A02-1", 150),
                          (OIL, "C01-0", 5000)]:
        s.record(Movement(MovementKind.RECEIPT, sku, qty, Location.parse(loc), clock(), "opening"))
    return s
