"""Invoices: lines, discounts and VAT."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .money import cents

#: VAT rates by category.
RATES = {"standard": Decimal("0.19"), "reduced": Decimal("0.07"), "exempt": Decimal("0")}


class InvoiceError(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    unit_price: Decimal  # euros, before VAT
    discount_pct: Decimal = Decimal("0")
    category: str = "standard"

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvoiceError(f"{self.sku}: quantity must be positive")
        if not Decimal("0") <= self.discount_pct <= Decimal("100"):
            raise InvoiceError(f"{self.sku}: discount must be between 0 and 100 %")
        if self.category not in RATES:
            raise InvoiceError(f"{self.sku}: unknown VAT category {self.category!r}")

    @property
    def gross(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def net(self) -> Decimal:
        """The line after its discount, before VAT."""
        return self.gross * (1 - self.discount_pct)


@dataclass
class Invoice:
    number: str
    customer: str
    lines: list[Line] = field(default_factory=list)

    def add(self, line: Line) -> None:
        self.lines.append(line)

    def net_cents(self) -> int:
        return sum(cents(line.net) for line in self.lines)

    def vat_cents(self) -> dict[str, int]:
        """VAT per category, each computed on the category's net sum (not per line)."""
        sums: dict[str, Decimal] = {}
        for line in self.lines:
            sums[line.category] = sums.get(line.category, Decimal("0")) + line.net
        return {cat: cents(total * RATES[cat]) for cat, total in sorted(sums.items())}

    def total_cents(self) -> int:
        return self.net_cents() + sum(self.vat_cents().values())
