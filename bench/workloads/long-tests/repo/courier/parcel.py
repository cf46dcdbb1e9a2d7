"""Parcels, and the weight a carrier bills them by."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Carriers bill bulk as weight: this many cubic centimetres count as one kilogram.
VOLUMETRIC_DIVISOR = 5000
#: Billing granularity, in kilograms.
STEP_KG = 0.5
MAX_WEIGHT_KG = 70.0
MAX_LENGTH_CM = 175.0
#: Length plus girth (twice width plus height) at most, in centimetres.
MAX_SIZE_CM = 300.0


class ParcelError(ValueError):
    """A parcel no carrier of ours accepts."""


@dataclass(frozen=True)
class Parcel:
    weight_kg: float
    length_cm: float
    width_cm: float
    height_cm: float

    def __post_init__(self) -> None:
        if self.weight_kg <= 0:
            raise ParcelError(f"weight must be positive, not {self.weight_kg}")
        dims = (self.length_cm, self.width_cm, self.height_cm)
        if min(dims) <= 0:
            raise ParcelError(f"dimensions must be positive, not {dims}")
        if self.weight_kg > MAX_WEIGHT_KG:
            raise ParcelError(f"{self.weight_kg} kg is over the {MAX_WEIGHT_KG} kg limit")
        if self.longest_cm > MAX_LENGTH_CM:
            raise ParcelError(f"{self.longest_cm} cm is longer than {MAX_LENGTH_CM} cm")
        if self.size_cm > MAX_SIZE_CM:
            raise ParcelError(f"length plus girth {self.size_cm} cm is over {MAX_SIZE_CM} cm")

    @property
    def longest_cm(self) -> float:
        return max(self.length_cm, self.width_cm, self.height_cm)

    @property
    def size_cm(self) -> float:
        """Length plus girth, the longest side being the length."""
        a, b, c = sorted((self.length_cm, self.width_cm, self.height_cm))
        return c + 2 * (a + b)

    @property
    def volumetric_kg(self) -> float:
        return self.length_cm * self.width_cm * self.height_cm / VOLUMETRIC_DIVISOR


def chargeable_weight(parcel: Parcel) -> float:
    """The weight a carrier bills: the larger of the actual and the volumetric weight,
    rounded to the billing step."""
    weight = max(parcel.weight_kg, parcel.volumetric_kg)
    return math.floor(weight / STEP_KG) * STEP_KG
