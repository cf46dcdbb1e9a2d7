from decimal import Decimal

import pytest

from ledger.invoice import Invoice, InvoiceError, Line


def invoice(*lines: Line) -> Invoice:
    inv = Invoice("2024-0117", "Teahouse Lindner")
    for line in lines:
        inv.add(line)
    return inv


def test_a_line_without_discount(price):
    unit, cat = price("MUG-01")
    assert invoice(Line("MUG-01", 3, unit, category=cat)).net_cents() == 2370


def test_vat_on_a_standard_line(price):
    unit, cat = price("MUG-01")
    assert invoice(Line("MUG-01", 2, unit, category=cat)).vat_cents() == {"standard": 300}


def test_reduced_and_exempt_lines(price):
    tea, book, card = price("TEA-250"), price("BOOK-7"), price("GIFT-CARD")
    inv = invoice(Line("TEA-250", 10, tea[0], category=tea[1]),
                  Line("BOOK-7", 1, book[0], category=book[1]),
                  Line("GIFT-CARD", 2, card[0], category=card[1]))
    assert inv.vat_cents() == {"exempt": 0, "reduced": 378}


def test_a_discount_lowers_the_net(price):
    unit, cat = price("KETTLE-2")
    line = Line("KETTLE-2", 2, unit, discount_pct=Decimal("10"), category=cat)
    assert invoice(line).net_cents() == 7198


def test_the_total_adds_vat_to_the_discounted_net(price):
    unit, cat = price("MUG-01")
    line = Line("MUG-01", 10, unit, discount_pct=Decimal("20"), category=cat)
    assert invoice(line).total_cents() == 6320 + 1201


def test_a_full_discount_is_free(price):
    unit, cat = price("BOOK-7")
    line = Line("BOOK-7", 1, unit, discount_pct=Decimal("100"), category=cat)
    assert invoice(line).total_cents() == 0


def test_quantity_must_be_positive():
    with pytest.raises(InvoiceError, match="quantity"):
        Line("MUG-01", 0, Decimal("7.90"))


def test_discount_is_a_percentage():
    with pytest.raises(InvoiceError, match="discount"):
        Line("MUG-01", 1, Decimal("7.90"), discount_pct=Decimal("120"))


def test_unknown_category():
    with pytest.raises(InvoiceError, match="category"):
        Line("MUG-01", 1, Decimal("7.90"), category="luxury")


def test_an_empty_invoice():
    inv = invoice()
    assert (inv.net_cents(), inv.vat_cents(), inv.total_cents()) == (0, {}, 0)
