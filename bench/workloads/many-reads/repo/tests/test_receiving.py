import pytest

from stockroom.services.receiving import INBOUND, NoteLine, receive
from stockroom.services.transfers import put_away
from stockroom.models import Location

from .conftest import BOLTS, OIL


def test_receipt_books_to_inbound(store, clock):
    moves = receive(store, "DN-1", [NoteLine("AB-0123", 500)], clock)
    assert len(moves) == 1 and store.on_hand(BOLTS, INBOUND) == 500
    assert store.on_hand(BOLTS) == 620


def test_units_are_converted(store, clock):
    receive(store, "DN-2", [NoteLine("LUB-0007", 2.5, "l")], clock)
    assert store.on_hand(OIL) == 7500


def test_unit_must_match_the_item(store, clock):
    with pytest.raises(ValueError, match="kept in"):
        receive(store, "DN-3", [NoteLine("LUB-0007", 2, "kg")], clock)


def test_notes_as_suppliers_print_them(store, clock):
    # supplier notes print SKUs in lower case and without the leading zero
    receive(store, "DN-4", [NoteLine("ab-123", 10), NoteLine(" AB0124", 5)], clock)
    assert store.on_hand(BOLTS, INBOUND) == 10


def test_put_away_empties_inbound(store, clock):
    receive(store, "DN-5", [NoteLine("AB-0123", 30)], clock)
    assert put_away(store, BOLTS, Location.parse("A01-1"), clock) == 30
    assert store.on_hand(BOLTS, INBOUND) == 0
    assert store.on_hand(BOLTS, Location.parse("A01-1")) == 110
