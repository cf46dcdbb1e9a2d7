import datetime as dt
from decimal import Decimal

import pytest

from etl.stages.currency import convert, parse_amount, rates_for


@pytest.mark.parametrize("text, expected", [("10", "10"), ("0.5", "0.5"), ("235.00", "235.00"),
                                            ("899.99", "899.99")])
def test_parse_amount(text, expected):
    assert parse_amount(text) == Decimal(expected)


def test_rates_include_the_euro():
    rates = rates_for("2024-04-12")
    assert rates["EUR"] == 1 and rates["CHF"] == Decimal("1.0169")


def test_convert_at_the_rate_of_the_day():
    rows = [{"date": dt.date(2024, 4, 11), "currency": "GBP", "amount": "100.00"},
            {"date": dt.date(2024, 4, 12), "currency": "GBP", "amount": "100.00"},
            {"date": dt.date(2024, 4, 12), "currency": "EUR", "amount": "12.34"}]
    out = convert(rows)
    assert [r["amount_eur"] for r in out] == [Decimal("116.90"), Decimal("117.02"), Decimal("12.34")]


def test_convert_rounds_half_to_even():
    rows = [{"date": dt.date(2024, 4, 12), "currency": "USD", "amount": "0.50"}]
    assert convert(rows)[0]["amount_eur"] == Decimal("0.47")
