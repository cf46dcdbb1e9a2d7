"""Delivery zones: where a parcel goes decides the column of the tariff."""

from __future__ import annotations

import re

#: Domestic zones by the first two digits of the postcode; the rest is zone 2.
_DOMESTIC = {
    **{f"{n:02d}": 1 for n in range(10, 20)},  # the metropolitan area
    **{f"{n:02d}": 3 for n in range(90, 100)},  # the islands
    **{f"{n:02d}": 3 for n in range(70, 73)},  # the mountain districts
}
#: International zones by country.
_COUNTRIES = {
    "AT": 4, "BE": 4, "DE": 4, "FR": 4, "LU": 4, "NL": 4,
    "DK": 5, "ES": 5, "IE": 5, "IT": 5, "PT": 5, "SE": 5,
    "CH": 6, "GB": 6, "NO": 6,
    "CA": 7, "US": 7,
}
HOME = "DE"
_POSTCODE = re.compile(r"^\d{5}$")


class ZoneError(ValueError):
    """A destination we do not deliver to."""


def zone(country: str, postcode: str) -> int:
    country = country.strip().upper()
    if country == HOME:
        postcode = postcode.strip()
        if not _POSTCODE.match(postcode):
            raise ZoneError(f"{postcode!r} is not a postcode of {HOME}")
        return _DOMESTIC.get(postcode[:2], 2)
    try:
        return _COUNTRIES[country]
    except KeyError:
        raise ZoneError(f"no delivery to {country}") from None


def is_international(zone_number: int) -> bool:
    return zone_number >= 4
