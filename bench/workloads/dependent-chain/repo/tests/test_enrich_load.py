import datetime as dt
from decimal import Decimal

from etl.stages.enrich import enrich
from etl.stages.load import load


def test_segments_from_the_registry():
    rows = enrich([{"customer": "C0001"}, {"customer": "C0002"}, {"customer": ""}])
    assert rows[0]["segment"] in {"retail", "trade", "wholesale"}
    assert rows[2]["segment"] == "unknown"


def test_load():
    rows = [{"order": "SO-000001", "date": dt.date(2024, 4, 11), "customer": "C0001",
             "segment": "trade", "currency": "EUR", "amount_eur": Decimal("10.00")}]
    db = load(rows)
    assert db.execute("select number, amount_eur from orders").fetchall() == [("SO-000001", "10.00")]
