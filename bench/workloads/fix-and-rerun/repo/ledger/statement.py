"""The monthly statement the accounting system imports: one row per invoice."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from .invoice import Invoice
from .money import euros

COLUMNS = ("number", "customer", "net", "vat", "total")


def rows(invoices: Iterable[Invoice]) -> list[dict[str, str]]:
    out = []
    for inv in sorted(invoices, key=lambda i: i.number):
        vat = sum(inv.vat_cents().values())
        out.append({
            "number": inv.number,
            "customer": inv.customer,
            "net": euros(inv.net_cents()),
            "vat": euros(vat),
            "total": euros(inv.total_cents()),
        })
    return out


def to_csv(invoices: Iterable[Invoice]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(invoices))
    return buf.getvalue()


def month_total(invoices: Iterable[Invoice]) -> str:
    return euros(sum(inv.total_cents() for inv in invoices))
