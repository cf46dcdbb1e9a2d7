import pytest

from courier.zones import ZoneError, is_international, zone


@pytest.mark.parametrize(
    "postcode, expected",
    [("10115", 1), ("19999", 1), ("20095", 2), ("80331", 2), ("70173", 3), ("98527", 3)],
)
def test_domestic_zones(postcode, expected):
    assert zone("DE", postcode) == expected


@pytest.mark.parametrize("country, expected", [("FR", 4), ("it", 5), (" GB ", 6), ("US", 7)])
def test_international_zones(country, expected):
    assert zone(country, "anything") == expected


@pytest.mark.parametrize("postcode", ["1011", "1011A", "", "101155"])
def test_bad_domestic_postcodes(postcode):
    with pytest.raises(ZoneError):
        zone("DE", postcode)


def test_unknown_country():
    with pytest.raises(ZoneError, match="no delivery"):
        zone("AQ", "0000")


def test_international():
    assert not is_international(zone("DE", "10115"))
    assert is_international(zone("NL", "1011"))
