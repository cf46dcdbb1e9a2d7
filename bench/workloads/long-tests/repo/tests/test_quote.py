"""Quotes through the stand-in rate service, as the shop's checkout asks for them."""

import pytest

from courier.client import RateServiceClient
from courier.parcel import Parcel
from courier.quote import Quoter
from courier.tariff import standard

from .conftest import scaled


@pytest.fixture
def quoter(rate_service):
    client = RateServiceClient(rate_service.url, timeout_s=scaled(2.0), backoff_s=scaled(0.2))
    return Quoter(client, ttl_s=scaled(60))


TARIFF = standard()


@pytest.mark.parametrize(
    "weight, dims, country, postcode, kg",
    [
        (0.4, (20, 15, 5), "DE", "10115", 0.5),
        (1.0, (30, 20, 10), "DE", "80331", 1.5),  # volumetric 1.2 kg
        (2.1, (30, 20, 10), "DE", "50667", 2.5),
        (2.5, (30, 20, 10), "DE", "70173", 2.5),
        (4.2, (40, 30, 20), "FR", "75001", 5.0),
        (12.0, (60, 40, 40), "DK", "3700", 19.5),  # volumetric 19.2 kg
        (31.2, (60, 50, 40), "US", "10001", 31.5),
    ],
)
def test_quote(quoter, weight, dims, country, postcode, kg):
    q = quoter.quote(Parcel(weight, *dims), country, postcode)
    assert q.chargeable_kg == kg
    assert q.base_cents == TARIFF.base_cents(q.zone, kg)
    assert q.fuel_cents == round(q.base_cents * 0.125)


def test_remote_postcodes_pay_the_surcharge(quoter):
    near = quoter.quote(Parcel(1, 20, 20, 10), "DE", "10115")
    far = quoter.quote(Parcel(1, 20, 20, 10), "DE", "18565")
    assert far.remote_cents == TARIFF.remote_cents and near.remote_cents == 0


def test_surcharge_is_asked_once_per_ttl(quoter, rate_service):
    for postcode in ("10115", "10117", "10119", "10178"):
        quoter.quote(Parcel(1, 20, 20, 10), "DE", postcode)
    assert rate_service.hits["/fuel"] == 1
    assert rate_service.hits["/remote"] == 4


def test_a_new_surcharge_applies_after_the_ttl(rate_service):
    import time

    ttl = scaled(1.0)
    quoter = Quoter(RateServiceClient(rate_service.url, timeout_s=scaled(2.0)), ttl_s=ttl)
    first = quoter.quote(Parcel(1, 20, 20, 10), "DE", "10115")
    rate_service.fuel_pct = 20.0
    time.sleep(ttl * 1.1)
    second = quoter.quote(Parcel(1, 20, 20, 10), "DE", "10115")
    assert second.fuel_cents > first.fuel_cents


def test_describe(quoter):
    q = quoter.quote(Parcel(2.1, 30, 20, 10), "DE", "50667")
    assert q.describe() == f"zone 2, 2.5 kg: EUR {q.total_cents / 100:.2f}"


def test_survives_a_busy_service(quoter, rate_service):
    rate_service.failures_left = 2
    q = quoter.quote(Parcel(1, 20, 20, 10), "FR", "75001")
    assert q.zone == 4
