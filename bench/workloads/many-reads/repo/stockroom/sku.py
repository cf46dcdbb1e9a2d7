"""Stock keeping units: ``AAA-0000`` (a family of letters, a dash, a number).

``Sku.parse`` is the one way to read a SKU from outside (a scanner, a CSV file, a
request): it accepts the spellings people and devices produce and returns the canonical
form. ``normalize_sku`` is the helper of 1.x; it only strips, and is kept for plugins
until 2.0.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

_SKU = re.compile(r"^(?P<family>[A-Z]{2,4})-?(?P<number>\d{3,6})$")


class SkuError(ValueError):
    """Text that is not a SKU."""


@dataclass(frozen=True, order=True)
class Sku:
    family: str
    number: int

    @classmethod
    def parse(cls, text: str) -> Sku:
        """``" ab-0123 "``, ``"AB0123"`` and ``"ab-123"`` are all ``AB-0123``."""
        cleaned = re.sub(r"\s+", "", str(text)).upper()
        m = _SKU.match(cleaned)
        if m is None:
            raise SkuError(f"{text!r} is not a SKU (expected letters, a dash, digits)")
        return cls(m["family"], int(m["number"]))

    def __str__(self) -> str:
        return f"{self.family}-{self.number:04d}"


def normalize_sku(text: str) -> str:
    """Deprecated: use ``str(Sku.parse(text))``."""
    warnings.warn("normalize_sku is deprecated; use Sku.parse", DeprecationWarning, stacklevel=2)
    return text.strip()
