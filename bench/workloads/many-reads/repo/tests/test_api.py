import pytest

from stockroom.api.errors import ApiError
from stockroom.api.handlers import get_item, search


def test_get_item(store):
    body = get_item(store, "AB-0123")
    assert body["sku"] == "AB-0123" and body["on_hand"] == 120
    assert body["locations"] == [{"location": "A01-1", "quantity": 80},
                                 {"location": "B03-2", "quantity": 40}]


def test_get_item_as_scanned(store):
    assert get_item(store, "ab-0123\n")["sku"] == "AB-0123"


def test_get_item_without_the_dash(store):
    assert get_item(store, "LUB0007")["on_hand_text"] == "5 l"


def test_unknown_item(store):
    with pytest.raises(ApiError) as err:
        get_item(store, "ZZ-0001")
    assert err.value.status == 404


def test_empty_sku(store):
    with pytest.raises(ApiError) as err:
        get_item(store, "  ")
    assert err.value.status == 400


def test_search(store):
    assert [b["sku"] for b in search(store, "hex m8")] == ["AB-0123", "AB-0124"]


def test_reorder_flag(store):
    assert get_item(store, "AB-0124")["reorder"] is True
    assert get_item(store, "AB-0123")["reorder"] is False
