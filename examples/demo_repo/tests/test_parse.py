import datetime as dt

import pytest

from dates import parse_date


@pytest.mark.parametrize(
    "text",
    ["2024-03-01", "01.03.2024", "03/01/2024", "  2024-03-01  "],
)
def test_notations(text):
    assert parse_date(text) == dt.date(2024, 3, 1)


def test_none():
    assert parse_date(None) is None


def test_empty_string_is_none():
    assert parse_date("") is None
    assert parse_date("   ") is None


def test_garbage():
    with pytest.raises(ValueError):
        parse_date("yesterday")
