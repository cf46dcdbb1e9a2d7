"""Quoting a whole shipping manifest, as the nightly invoicing job does."""

import math
from pathlib import Path

from courier.client import RateServiceClient
from courier.parcel import STEP_KG, Parcel, chargeable_weight
from courier.quote import Quoter, read_manifest

from .conftest import scaled

MANIFEST = Path(__file__).parent / "data" / "manifest.csv"


def test_manifest_quotes_every_row(rate_service):
    rows = read_manifest(MANIFEST)
    quoter = Quoter(RateServiceClient(rate_service.url, timeout_s=scaled(2.0)))
    quotes = quoter.quote_manifest(rows)
    assert len(quotes) == len(rows) == 24
    assert all(q.total_cents > 0 for q in quotes)
    # one remote lookup per distinct destination, one surcharge lookup for the run
    assert rate_service.hits["/remote"] == len({(r["country"], r["postcode"]) for r in rows})
    assert rate_service.hits["/fuel"] == 1


def test_manifest_is_billed_by_the_started_half_kilo(rate_service):
    rows = read_manifest(MANIFEST)
    quoter = Quoter(RateServiceClient(rate_service.url, timeout_s=scaled(2.0)))
    for row, q in zip(rows, quoter.quote_manifest(rows)):
        parcel = Parcel(float(row["weight_kg"]), float(row["length_cm"]),
                        float(row["width_cm"]), float(row["height_cm"]))
        heavier = max(parcel.weight_kg, parcel.volumetric_kg)
        assert q.chargeable_kg == math.ceil(heavier / STEP_KG) * STEP_KG, row["order"]
        assert q.chargeable_kg == chargeable_weight(parcel)


def test_fresh_quoter_per_batch_asks_again(rate_service):
    rows = read_manifest(MANIFEST)[:4]
    for _ in range(3):
        Quoter(RateServiceClient(rate_service.url, timeout_s=scaled(2.0))).quote_manifest(rows)
    assert rate_service.hits["/fuel"] == 3
