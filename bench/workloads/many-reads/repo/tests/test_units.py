import pytest

from stockroom.units import UnitError, describe, to_base


@pytest.mark.parametrize("q, unit, expected", [(3, "pc", (3, "pc")), (2, "dozen", (24, "pc")),
                                               (1.5, "kg", (1500, "g")), (0.25, "l", (250, "ml"))])
def test_to_base(q, unit, expected):
    assert to_base(q, unit) == expected


def test_fractions_of_a_piece():
    with pytest.raises(UnitError):
        to_base(1.5, "pc")


def test_unknown_unit():
    with pytest.raises(UnitError):
        to_base(1, "gallon")


def test_describe():
    assert describe(2500, "g") == "2.5 kg"
    assert describe(999, "ml") == "999 ml"
    assert describe(12, "pc") == "12 pc"
