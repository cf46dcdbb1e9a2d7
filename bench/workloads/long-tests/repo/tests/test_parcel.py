import pytest

from courier.parcel import Parcel, ParcelError, chargeable_weight


def box(weight: float, *dims: float) -> Parcel:
    return Parcel(weight, *(dims or (10, 10, 10)))


def test_volumetric_weight():
    assert box(1, 50, 40, 30).volumetric_kg == pytest.approx(12.0)


def test_size_is_length_plus_girth():
    assert box(1, 100, 30, 20).size_cm == 100 + 2 * (30 + 20)


def test_longest_side_is_the_length_whatever_the_order():
    assert box(1, 20, 100, 30).size_cm == box(1, 100, 30, 20).size_cm


@pytest.mark.parametrize("weight", [0, -1])
def test_weight_must_be_positive(weight):
    with pytest.raises(ParcelError):
        box(weight)


def test_dimensions_must_be_positive():
    with pytest.raises(ParcelError):
        box(1, 10, 0, 10)


def test_too_heavy():
    with pytest.raises(ParcelError, match="limit"):
        box(70.5)


def test_too_long():
    with pytest.raises(ParcelError, match="longer"):
        box(1, 180, 10, 10)


def test_too_big():
    with pytest.raises(ParcelError, match="girth"):
        box(1, 150, 40, 40)


def test_whole_steps_stay_as_they_are():
    assert chargeable_weight(box(2.0)) == 2.0
    assert chargeable_weight(box(0.5)) == 0.5


def test_actual_weight_counts_when_heavier():
    assert chargeable_weight(box(5.0, 20, 20, 20)) == 5.0


def test_volumetric_weight_counts_when_heavier():
    assert chargeable_weight(box(1.0, 50, 40, 30)) == 12.0


@pytest.mark.parametrize(
    "weight, expected",
    [(0.1, 0.5), (0.51, 1.0), (1.2, 1.5), (2.01, 2.5), (9.9, 10.0), (31.6, 32.0)],
)
def test_rounds_up_to_the_next_step(weight, expected):
    assert chargeable_weight(box(weight)) == expected


def test_volumetric_weight_rounds_up_too():
    # 40 * 30 * 21 / 5000 = 5.04 kg
    assert chargeable_weight(box(1.0, 40, 30, 21)) == 5.5
