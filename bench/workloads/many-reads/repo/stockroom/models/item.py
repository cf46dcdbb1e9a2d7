from __future__ import annotations

from dataclasses import dataclass

from ..sku import Sku


@dataclass
class Item:
    sku: Sku
    name: str
    base_unit: str = "pc"
    #: Reorder when the stock falls to this many base units.
    reorder_point: int = 0
    #: Base units ordered at a time.
    order_quantity: int = 0
    supplier: str | None = None
