import pytest

from stockroom.services.picking import ShortPick, pick, pick_list

from .conftest import BOLTS, NUTS


def test_pick_list_takes_the_fullest_location_first(store):
    lines = pick_list(store, [("AB-0123", 100)])
    assert [(str(x.location), x.quantity) for x in lines] == [("A01-1", 80), ("B03-2", 20)]


def test_pick_list_is_in_walking_order(store):
    lines = pick_list(store, [("AB-0124", 10), ("AB-0123", 5)])
    assert [str(x.location) for x in lines] == ["A01-1", "A02-1"]


def test_short_pick(store):
    with pytest.raises(ShortPick, match="30 of 150 missing"):
        pick_list(store, [("AB-0123", 150)])


def test_pick_books_the_movements(store, clock):
    pick(store, pick_list(store, [("AB-0123", 100), ("AB-0124", 50)]), "SO-1", clock)
    assert store.on_hand(BOLTS) == 20 and store.on_hand(NUTS) == 100


def test_orders_from_the_shop(store):
    # the shop sends SKUs as customers typed them
    lines = pick_list(store, [("ab0123", 10), ("Ab-124 ", 10)])
    assert {str(x.sku) for x in lines} == {"AB-0123", "AB-0124"}
