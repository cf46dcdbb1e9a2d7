"""Amounts in euros: the shop sells in four currencies; reports are in EUR, converted at
the rate of the order's day."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from ..upstream import call

CENT = Decimal("0.01")


def rates_for(day: str) -> dict[str, Decimal]:
    """EUR per unit of each currency on ``day`` (from the rates service)."""
    table = call("rates", Path("data/rates") / f"{day}.json")
    return {code: Decimal(str(rate)) for code, rate in table.items()} | {"EUR": Decimal(1)}


def parse_amount(text: str) -> Decimal:
    """An amount as the shop exports it: a point for decimals."""
    return Decimal(str(float(text)))


def convert(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cache: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        day = row["date"].isoformat()
        if day not in cache:
            cache[day] = rates_for(day)
        amount = parse_amount(row["amount"])
        row["amount_eur"] = (amount * cache[day][row["currency"]]).quantize(CENT, ROUND_HALF_EVEN)
    return rows
