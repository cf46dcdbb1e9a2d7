import pytest

from stockroom.sku import Sku, SkuError, normalize_sku


@pytest.mark.parametrize("text", ["AB-0123", "ab-0123", " AB-123 ", "AB0123", "ab 0123", "Ab-123\n"])
def test_spellings_parse_to_one_sku(text):
    assert Sku.parse(text) == Sku("AB", 123)


def test_canonical_form():
    assert str(Sku.parse("lub-007")) == "LUB-0007"
    assert str(Sku("XYZW", 123456)) == "XYZW-123456"


@pytest.mark.parametrize("text", ["", "A-123", "ABCDE-123", "AB-12", "AB-1234567", "12-AB", "AB_123"])
def test_not_skus(text):
    with pytest.raises(SkuError):
        Sku.parse(text)


def test_order():
    assert sorted([Sku("BB", 1), Sku("AB", 2), Sku("AB", 1)]) == [
        Sku("AB", 1), Sku("AB", 2), Sku("BB", 1)]


def test_normalize_sku_is_deprecated():
    with pytest.deprecated_call():
        assert normalize_sku(" AB-0123 ") == "AB-0123"
