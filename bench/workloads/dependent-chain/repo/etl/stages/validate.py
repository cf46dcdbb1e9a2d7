from __future__ import annotations

import datetime as dt
import re
from typing import Any

ORDER = re.compile(r"^SO-\d{6}$")
CURRENCIES = frozenset({"EUR", "CHF", "GBP", "USD"})


class InvalidRow(ValueError):
    pass


def validate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = set()
    for row in rows:
        if not ORDER.match(row["order"]):
            raise InvalidRow(f"bad order number {row['order']!r}")
        if row["order"] in seen:
            raise InvalidRow(f"order {row['order']} twice in the batch")
        seen.add(row["order"])
        row["date"] = dt.date.fromisoformat(row["date"])
        if row["currency"] not in CURRENCIES:
            raise InvalidRow(f"{row['order']}: unknown currency {row['currency']!r}")
    return rows
