from decimal import Decimal

from ledger.invoice import RATES, Invoice, Line


def test_the_rates():
    assert RATES == {"standard": Decimal("0.19"), "reduced": Decimal("0.07"), "exempt": Decimal("0")}


def test_vat_is_computed_per_category_sum(price):
    unit, cat = price("TEA-250")
    inv = Invoice("2024-0200", "Café Ostwind")
    for _ in range(3):
        inv.add(Line("TEA-250", 1, unit, category=cat))
    # 3 x 4.20 = 12.60, 7 % of it: 0.882 -> 0.88 (not 3 x 0.29 = 0.87)
    assert inv.vat_cents() == {"reduced": 88}


def test_exempt_lines_carry_no_vat(price):
    unit, cat = price("GIFT-CARD")
    inv = Invoice("2024-0201", "Teahouse Lindner")
    inv.add(Line("GIFT-CARD", 4, unit, category=cat))
    assert inv.vat_cents() == {"exempt": 0} and inv.total_cents() == 10000


def test_mixed_categories_are_kept_apart(price):
    inv = Invoice("2024-0202", "Buchladen Süd")
    for sku in ("MUG-01", "BOOK-7", "GIFT-CARD"):
        unit, cat = price(sku)
        inv.add(Line(sku, 1, unit, category=cat))
    assert set(inv.vat_cents()) == {"standard", "reduced", "exempt"}


def test_standard_vat_of_a_kettle(price):
    unit, cat = price("KETTLE-2")
    inv = Invoice("2024-0203", "Teahouse Lindner")
    inv.add(Line("KETTLE-2", 1, unit, category=cat))
    assert inv.vat_cents() == {"standard": 760}


def test_the_total_is_net_plus_vat(price):
    unit, cat = price("KETTLE-2")
    inv = Invoice("2024-0204", "Teahouse Lindner")
    inv.add(Line("KETTLE-2", 2, unit, category=cat))
    assert inv.total_cents() == inv.net_cents() + sum(inv.vat_cents().values())


def test_reduced_vat_of_books(price):
    unit, cat = price("BOOK-7")
    inv = Invoice("2024-0205", "Buchladen Süd")
    inv.add(Line("BOOK-7", 10, unit, category=cat))
    assert inv.vat_cents() == {"reduced": 840}


def test_a_single_tea(price):
    unit, cat = price("TEA-250")
    inv = Invoice("2024-0206", "Café Ostwind")
    inv.add(Line("TEA-250", 1, unit, category=cat))
    assert inv.vat_cents() == {"reduced": 29}


def test_net_of_several_lines(price):
    inv = Invoice("2024-0207", "Café Ostwind")
    for sku, qty in (("TEA-250", 2), ("MUG-01", 2)):
        unit, cat = price(sku)
        inv.add(Line(sku, qty, unit, category=cat))
    assert inv.net_cents() == 840 + 1580


def test_no_lines_no_vat():
    assert Invoice("2024-0208", "Nobody").vat_cents() == {}
