"""Amounts in cents: rounding as the tax office wants it."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(amount: Decimal | int | str) -> int:
    """``amount`` in euros as whole cents, half a cent rounded up (commercial rounding,
    as the VAT rules ask: 0.005 is a cent, not nothing)."""
    value = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return int(value * 100)


def euros(amount_cents: int) -> str:
    """``1234`` as ``"12.34"``; negative amounts keep their sign."""
    sign = "-" if amount_cents < 0 else ""
    whole, part = divmod(abs(amount_cents), 100)
    return f"{sign}{whole}.{part:02d}"


def split(amount_cents: int, parts: int) -> list[int]:
    """``amount_cents`` in ``parts`` instalments that add up to it, the first ones a cent
    larger when it does not divide evenly."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    base, rest = divmod(amount_cents, parts)
    return [base + 1 if i < rest else base for i in range(parts)]
