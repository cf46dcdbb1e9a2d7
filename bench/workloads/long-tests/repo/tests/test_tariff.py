import pytest

from courier.tariff import BANDS_KG, Tariff, standard


@pytest.fixture
def tariff():
    return standard()


def test_every_zone_has_a_price_per_band(tariff):
    for row in tariff.prices.values():
        assert len(row) == len(BANDS_KG)


@pytest.mark.parametrize("kg, band", [(0.5, 0), (1.0, 1), (1.5, 2), (2.0, 2), (2.5, 3), (31.5, 8)])
def test_band_edges_belong_to_the_lower_band(tariff, kg, band):
    assert tariff.base_cents(1, kg) == tariff.prices[1][band]


def test_prices_rise_with_the_zone(tariff):
    for band in range(len(BANDS_KG)):
        column = [tariff.prices[z][band] for z in sorted(tariff.prices)]
        assert column == sorted(column)


def test_above_the_last_band_every_started_kilo_counts(tariff):
    last = tariff.prices[2][-1]
    assert tariff.base_cents(2, 32.0) == last + tariff.per_extra_kg[2]
    assert tariff.base_cents(2, 33.0) == last + 2 * tariff.per_extra_kg[2]
    assert tariff.base_cents(2, 33.5) == last + 2 * tariff.per_extra_kg[2]


def test_unknown_zone(tariff):
    with pytest.raises(KeyError):
        tariff.base_cents(9, 1.0)


def test_rows_must_match_the_bands():
    with pytest.raises(ValueError, match="bands"):
        Tariff({1: (100, 200)})


def test_prices_must_not_fall():
    row = tuple(range(len(BANDS_KG), 0, -1))
    with pytest.raises(ValueError, match="fall"):
        Tariff({1: row})
