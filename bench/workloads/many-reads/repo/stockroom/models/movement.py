from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from ..sku import Sku
from .location import Location


class MovementKind(Enum):
    RECEIPT = "receipt"
    PICK = "pick"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Movement:
    kind: MovementKind
    sku: Sku
    quantity: int  # base units; negative takes stock away
    location: Location
    date: dt.date
    reference: str = ""
