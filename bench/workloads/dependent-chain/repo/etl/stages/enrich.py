"""Customers: each order gets its customer's segment from the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..upstream import call


def enrich(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    segments: dict[str, str] = {}
    for row in rows:
        cid = row["customer"]
        if cid not in segments:
            record = call("registry", Path("data/customers.json"))[cid] if cid else None
            segments[cid] = record["segment"] if record else "unknown"
        row["segment"] = segments[cid]
    return rows
