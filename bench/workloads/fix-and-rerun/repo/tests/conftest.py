"""Every test gets a fresh copy of the shop's database: its catalogue and customers.

Loading it takes as long as it does against the shop's database server from CI (a round
trip per table); BENCH_SCALE (a number in the file of that name at the root) scales that
wait, so that a quick run of the suite stays representative.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCALE = float((ROOT / "BENCH_SCALE").read_text().strip() or 1)

#: Seconds one load of the database takes.
LOAD_S = 0.2 * SCALE

CATALOGUE = [
    ("TEA-250", "Assam tea, 250 g", "4.20", "reduced"),
    ("MUG-01", "Stoneware mug", "7.90", "standard"),
    ("BOOK-7", "Brewing guide", "12.00", "reduced"),
    ("GIFT-CARD", "Gift card", "25.00", "exempt"),
    ("KETTLE-2", "Kettle, 1.2 l", "39.99", "standard"),
]


@pytest.fixture(autouse=True)
def shop(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(tmp_path / "shop.db")
    db.execute("create table product (sku text primary key, name text, price text, category text)")
    db.executemany("insert into product values (?, ?, ?, ?)", CATALOGUE)
    db.commit()
    time.sleep(LOAD_S)  # the round trips to the shop's database server
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def price(shop: sqlite3.Connection):  # type: ignore[no-untyped-def]
    def lookup(sku: str) -> tuple[Decimal, str]:
        row = shop.execute("select price, category from product where sku = ?", (sku,)).fetchone()
        return Decimal(row[0]), row[1]

    return lookup
