from decimal import Decimal

import pytest

from ledger.money import cents, euros, split


def test_whole_cents_stay():
    assert cents("12.34") == 1234


def test_below_half_a_cent_rounds_down():
    assert cents("0.124") == 12


def test_more_than_half_a_cent_rounds_up():
    assert cents("0.126") == 13


@pytest.mark.parametrize(("amount", "expected"), [("0.125", 13), ("2.675", 268), ("0.005", 1)])
def test_half_a_cent_rounds_up(amount, expected):
    # the VAT rules' commercial rounding: half a cent is a cent, whatever the digit before
    assert cents(amount) == expected


def test_vat_of_a_line_is_rounded_commercially():
    assert cents(Decimal("7.90") * 5 * Decimal("0.19") + Decimal("0.0")) == 751


def test_euros():
    assert (euros(1234), euros(5), euros(-250)) == ("12.34", "0.05", "-2.50")


def test_split_adds_up():
    assert sum(split(1000, 3)) == 1000 and split(1000, 3) == [334, 333, 333]


def test_split_needs_parts():
    with pytest.raises(ValueError):
        split(100, 0)
