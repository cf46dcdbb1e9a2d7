"""Units of measure. Quantities are kept in base units (pieces, grams, millilitres) as
integers, so that counts never drift."""

from __future__ import annotations

_FACTORS = {"pc": ("pc", 1), "dozen": ("pc", 12), "g": ("g", 1), "kg": ("g", 1000),
            "ml": ("ml", 1), "l": ("ml", 1000)}


class UnitError(ValueError):
    pass


def to_base(quantity: float, unit: str) -> tuple[int, str]:
    try:
        base, factor = _FACTORS[unit]
    except KeyError:
        raise UnitError(f"unknown unit {unit!r}") from None
    value = round(quantity * factor)
    if abs(value - quantity * factor) > 1e-6:
        raise UnitError(f"{quantity} {unit} is not a whole number of {base}")
    return value, base


def describe(quantity: int, base: str) -> str:
    if base == "g" and quantity >= 1000:
        return f"{quantity / 1000:g} kg"
    if base == "ml" and quantity >= 1000:
        return f"{quantity / 1000:g} l"
    return f"{quantity} {base}"
