from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Supplier:
    code: str
    name: str
    lead_time_days: int = 7
