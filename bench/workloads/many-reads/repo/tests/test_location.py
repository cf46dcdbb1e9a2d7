import pytest

from stockroom.models import Location


def test_parse_and_str():
    loc = Location.parse(" b03-2 ")
    assert loc == Location("B", 3, 2) and str(loc) == "B03-2"


@pytest.mark.parametrize("code", ["B3-2", "BB03-2", "B03", "03-2"])
def test_bad_codes(code):
    with pytest.raises(ValueError):
        Location.parse(code)


def test_walk_order_snakes_through_the_aisles():
    codes = ["B01-1", "A02-1", "B05-1", "A01-1", "C01-1"]
    walked = sorted((Location.parse(c) for c in codes), key=Location.walk_order)
    assert [str(x) for x in walked] == ["A01-1", "A02-1", "B05-1", "B01-1", "C01-1"]
