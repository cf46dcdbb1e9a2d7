"""The carrier's tariff: a price per weight band and zone, plus surcharges."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

#: Upper limits of the weight bands, in kilograms.
BANDS_KG = (0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 10.0, 20.0, 31.5)


@dataclass(frozen=True)
class Tariff:
    """Prices in cents: ``prices[zone]`` has one price per band of ``BANDS_KG``."""

    prices: dict[int, tuple[int, ...]]
    #: Cents per started kilogram above the last band.
    per_extra_kg: dict[int, int] = field(default_factory=dict)
    #: Cents added for a remote postcode.
    remote_cents: int = 450

    def __post_init__(self) -> None:
        for zone_number, row in self.prices.items():
            if len(row) != len(BANDS_KG):
                raise ValueError(f"zone {zone_number}: {len(row)} prices for {len(BANDS_KG)} bands")
            if list(row) != sorted(row):
                raise ValueError(f"zone {zone_number}: prices must not fall with weight")

    def base_cents(self, zone_number: int, weight_kg: float) -> int:
        if zone_number not in self.prices:
            raise KeyError(f"no prices for zone {zone_number}")
        row = self.prices[zone_number]
        band = bisect.bisect_left(BANDS_KG, weight_kg)
        if band < len(BANDS_KG):
            return row[band]
        extra = weight_kg - BANDS_KG[-1]
        started = int(extra) + (0 if extra == int(extra) else 1)
        return row[-1] + started * self.per_extra_kg.get(zone_number, 0)


def standard() -> Tariff:
    """The tariff of 2024."""
    base = (390, 450, 560, 610, 680, 790, 1090, 1590, 2190)
    prices = {
        zone: tuple(round(p * factor) for p in base)
        for zone, factor in {1: 1.0, 2: 1.1, 3: 1.35, 4: 2.2, 5: 2.6, 6: 3.1, 7: 4.4}.items()
    }
    per_extra = {zone: 60 * zone for zone in prices}
    return Tariff(prices, per_extra)
