"""courier: shipping quotes from a carrier tariff and its live rate service."""

from .parcel import Parcel, ParcelError, chargeable_weight
from .quote import Quote, Quoter

__all__ = ["Parcel", "ParcelError", "Quote", "Quoter", "chargeable_weight"]
__version__ = "2.3.1"
