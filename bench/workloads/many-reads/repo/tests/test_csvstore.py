from pathlib import Path

from stockroom.sku import Sku
from stockroom.storage.csvstore import load_items
from stockroom.storage.memory import MemoryStore

DATA = Path(__file__).parent / "data" / "items.csv"


def test_load_items():
    store = MemoryStore()
    assert load_items(DATA, store) == 4
    assert store.item(Sku("AB", 124)).name == "Hex nut M8"
    assert store.item(Sku("LUB", 7)).base_unit == "ml"
    assert store.item(Sku("LUB", 7)).supplier is None
