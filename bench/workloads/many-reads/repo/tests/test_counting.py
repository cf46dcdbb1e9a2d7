from stockroom.models import Location
from stockroom.services.counting import apply_count

from .conftest import BOLTS


def test_no_difference_no_adjustment(store, clock):
    assert apply_count(store, [("A01-1", "AB-0123", 80)], clock) == []


def test_differences_are_adjusted(store, clock):
    moves = apply_count(store, [("A01-1", "AB-0123", 75), ("B03-2", "AB-0123", 41)], clock)
    assert [m.quantity for m in moves] == [-5, 1]
    assert store.on_hand(BOLTS) == 116


def test_handwritten_sheets(store, clock):
    moves = apply_count(store, [("a01-1", "ab 123", 70)], clock)
    assert [m.quantity for m in moves] == [-10]
    assert store.on_hand(BOLTS, Location.parse("A01-1")) == 70
