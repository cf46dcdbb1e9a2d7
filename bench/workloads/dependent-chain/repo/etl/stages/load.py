"""Loading: rows into the reporting database (a fresh one per run; the nightly job then
swaps it in)."""

from __future__ import annotations

import sqlite3
from typing import Any

SCHEMA = """
create table orders (
    number text primary key, day text not null, customer text,
    segment text not null, currency text not null, amount_eur text not null
)
"""


def load(rows: list[dict[str, Any]], db: sqlite3.Connection | None = None) -> sqlite3.Connection:
    db = db or sqlite3.connect(":memory:")
    db.execute(SCHEMA)
    db.executemany(
        "insert into orders values (?, ?, ?, ?, ?, ?)",
        [(r["order"], r["date"].isoformat(), r["customer"], r["segment"], r["currency"],
          str(r["amount_eur"])) for r in rows],
    )
    db.commit()
    return db
