"""The client against the stand-in service: answers, retries with backoff, timeouts."""

import time

import pytest

from courier.client import RateServiceClient, RateServiceError

from .conftest import scaled


def client_for(service, **kwargs) -> RateServiceClient:
    kwargs.setdefault("timeout_s", scaled(2.0))
    kwargs.setdefault("backoff_s", scaled(0.3))
    return RateServiceClient(service.url, **kwargs)


def test_fuel_surcharge(rate_service):
    assert client_for(rate_service).fuel_surcharge_pct() == 12.5


def test_remote_areas(rate_service):
    client = client_for(rate_service)
    assert client.is_remote("DE", "18565")
    assert not client.is_remote("DE", "10115")


def test_retries_a_busy_service_with_backoff(rate_service):
    rate_service.failures_left = 2
    client = client_for(rate_service)
    t0 = time.monotonic()
    assert client.fuel_surcharge_pct() == 12.5
    elapsed = time.monotonic() - t0
    assert client.requests == 3
    # two backoffs (0.3 s, then 0.6 s, scaled) between three answers
    assert elapsed >= scaled(0.3 + 0.6) + 3 * rate_service.latency_s * 0.9


def test_gives_up_after_the_last_retry(rate_service):
    rate_service.failures_left = 10
    client = client_for(rate_service, retries=2)
    with pytest.raises(RateServiceError, match="HTTP 503 after 3 attempts"):
        client.fuel_surcharge_pct()
    assert rate_service.hits["/fuel"] == 3


def test_does_not_retry_a_missing_resource(rate_service):
    client = client_for(rate_service)
    with pytest.raises(RateServiceError, match="HTTP 404"):
        client.get_json("nothing-here")
    assert client.requests == 1


def test_times_out_and_retries(rate_service):
    rate_service.hang_s = scaled(1.5)
    client = client_for(rate_service, timeout_s=scaled(1.0), retries=1)
    with pytest.raises(RateServiceError, match="after 2 attempts"):
        client.fuel_surcharge_pct()


def test_recovers_when_the_service_does(rate_service):
    rate_service.failures_left = 1
    client = client_for(rate_service, retries=1)
    assert not client.is_remote("FR", "75001")
    assert client.requests == 2


def test_unreachable_service():
    client = RateServiceClient("http://127.0.0.1:9", timeout_s=scaled(0.5), retries=1,
                               backoff_s=scaled(0.2))
    with pytest.raises(RateServiceError, match="after 2 attempts"):
        client.fuel_surcharge_pct()
