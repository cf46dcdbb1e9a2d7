from decimal import Decimal

from ledger.invoice import Invoice, Line
from ledger.statement import COLUMNS, month_total, rows, to_csv


def make(number: str, customer: str, *lines: tuple[str, int, str, str]) -> Invoice:
    inv = Invoice(number, customer)
    for sku, qty, price, cat in lines:
        inv.add(Line(sku, qty, Decimal(price), category=cat))
    return inv


def month() -> list[Invoice]:
    return [
        make("2024-0103", "Café Ostwind", ("TEA-250", 20, "4.20", "reduced")),
        make("2024-0101", "Teahouse Lindner", ("MUG-01", 6, "7.90", "standard"),
             ("KETTLE-2", 1, "39.99", "standard")),
        make("2024-0102", "Buchladen Süd", ("BOOK-7", 5, "12.00", "reduced")),
    ]


def test_rows_are_in_number_order():
    assert [r["number"] for r in rows(month())] == ["2024-0101", "2024-0102", "2024-0103"]


def test_a_row_has_every_column():
    assert all(tuple(r) == COLUMNS for r in rows(month()))


def test_amounts_are_in_euros():
    first = rows(month())[0]
    assert (first["net"], first["vat"], first["total"]) == ("87.39", "16.60", "103.99")


def test_reduced_rate_rows():
    second = rows(month())[1]
    assert (second["net"], second["vat"], second["total"]) == ("60.00", "4.20", "64.20")


def test_csv_has_a_header_and_a_line_per_invoice():
    lines = to_csv(month()).splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 4


def test_csv_quotes_nothing_it_need_not():
    assert "Café Ostwind" in to_csv(month())


def test_month_total():
    assert month_total(month()) == "258.07"


def test_an_empty_month():
    assert rows([]) == [] and month_total([]) == "0.00"


def test_one_invoice_month():
    only = month()[:1]
    assert month_total(only) == rows(only)[0]["total"]


def test_csv_of_an_empty_month_is_its_header():
    assert to_csv([]) == ",".join(COLUMNS) + "\n"
