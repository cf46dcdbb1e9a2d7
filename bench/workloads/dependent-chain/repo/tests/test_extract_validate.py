import datetime as dt
from pathlib import Path

import pytest

from etl.stages.extract import extract
from etl.stages.validate import InvalidRow, validate

GOOD = Path("data/batches/2024-04-11.csv")


def row(**kw):
    base = {"order": "SO-000001", "date": "2024-04-11", "customer": "C0001",
            "currency": "EUR", "amount": "10.00"}
    return base | kw


def test_extract_reads_every_row():
    rows = extract(GOOD)
    assert len(rows) == 30 and rows[0]["order"] == "SO-120001"


def test_extract_needs_the_columns(tmp_path):
    bad = tmp_path / "b.csv"
    bad.write_text("order,date\nSO-000001,2024-04-11\n")
    with pytest.raises(ValueError, match="missing columns"):
        extract(bad)


def test_validate_parses_dates():
    assert validate([row()])[0]["date"] == dt.date(2024, 4, 11)


@pytest.mark.parametrize("bad", [{"order": "SO-1"}, {"currency": "JPY"}, {"date": "11.04.2024"}])
def test_validate_rejects(bad):
    with pytest.raises((InvalidRow, ValueError)):
        validate([row(**bad)])


def test_validate_rejects_duplicates():
    with pytest.raises(InvalidRow, match="twice"):
        validate([row(), row()])
