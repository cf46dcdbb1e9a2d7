"""Loading items from the CSV export of the old system."""

from __future__ import annotations

import csv
from pathlib import Path

from ..models import Item
from ..sku import normalize_sku, Sku
from .memory import MemoryStore


def load_items(path: Path, store: MemoryStore) -> int:
    count = 0
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sku = Sku.parse(normalize_sku(row["sku"]))
            store.add_item(Item(
                sku=sku, name=row["name"].strip(), base_unit=row.get("unit") or "pc",
                reorder_point=int(row.get("reorder_point") or 0),
                order_quantity=int(row.get("order_quantity") or 0),
                supplier=row.get("supplier") or None,
            ))
            count += 1
    return count
