"""Quotes: the tariff's price for the chargeable weight, plus the live surcharges."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .cache import TTLCache
from .client import RateServiceClient
from .parcel import Parcel, chargeable_weight
from .tariff import Tariff, standard
from .zones import zone


@dataclass(frozen=True)
class Quote:
    zone: int
    chargeable_kg: float
    base_cents: int
    fuel_cents: int
    remote_cents: int

    @property
    def total_cents(self) -> int:
        return self.base_cents + self.fuel_cents + self.remote_cents

    def describe(self) -> str:
        euros = self.total_cents / 100
        return f"zone {self.zone}, {self.chargeable_kg:g} kg: EUR {euros:.2f}"


class Quoter:
    def __init__(
        self, client: RateServiceClient, tariff: Tariff | None = None, *, ttl_s: float = 300.0
    ) -> None:
        self.client = client
        self.tariff = tariff or standard()
        self._fuel: TTLCache[float] = TTLCache(ttl_s)
        self._remote: TTLCache[bool] = TTLCache(ttl_s)

    def quote(self, parcel: Parcel, country: str, postcode: str) -> Quote:
        z = zone(country, postcode)
        kg = chargeable_weight(parcel)
        base = self.tariff.base_cents(z, kg)
        fuel_pct = self._fuel.get("fuel", self.client.fuel_surcharge_pct)
        remote = self._remote.get(
            (country, postcode), lambda: self.client.is_remote(country, postcode)
        )
        return Quote(
            zone=z,
            chargeable_kg=kg,
            base_cents=base,
            fuel_cents=round(base * fuel_pct / 100),
            remote_cents=self.tariff.remote_cents if remote else 0,
        )

    def quote_manifest(self, rows: Iterable[dict[str, str]]) -> list[Quote]:
        """Quotes for a shipping manifest: rows with weight, length, width, height,
        country and postcode."""
        quotes = []
        for row in rows:
            parcel = Parcel(
                float(row["weight_kg"]), float(row["length_cm"]),
                float(row["width_cm"]), float(row["height_cm"]),
            )
            quotes.append(self.quote(parcel, row["country"], row["postcode"]))
        return quotes


def read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
