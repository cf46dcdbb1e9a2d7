from __future__ import annotations

import re
from dataclasses import dataclass

_CODE = re.compile(r"^(?P<aisle>[A-Z])(?P<bay>\d{2})-(?P<level>\d)$")


@dataclass(frozen=True, order=True)
class Location:
    """A shelf place, ``A01-2``: aisle A, bay 1, level 2."""

    aisle: str
    bay: int
    level: int

    @classmethod
    def parse(cls, code: str) -> Location:
        m = _CODE.match(code.strip().upper())
        if m is None:
            raise ValueError(f"{code!r} is not a location code like A01-2")
        return cls(m["aisle"], int(m["bay"]), int(m["level"]))

    def __str__(self) -> str:
        return f"{self.aisle}{self.bay:02d}-{self.level}"

    def walk_order(self) -> tuple[int, int, int]:
        """Pickers walk aisles in order, bays up one side and back down the next aisle."""
        aisle = ord(self.aisle) - ord("A")
        bay = self.bay if aisle % 2 == 0 else -self.bay
        return aisle, bay, self.level
