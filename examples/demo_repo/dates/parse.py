"""Parse and format calendar dates."""

from __future__ import annotations

import datetime as dt
import re

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EU = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_US = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def parse_date(value: str | None) -> dt.date | None:
    """A date from ISO, European or US notation; None for an empty value."""
    if value is None:
        return None
    text = value.strip()
    if m := _ISO.match(text):
        year, month, day = m.groups()
    elif m := _EU.match(text):
        day, month, year = m.groups()
    elif m := _US.match(text):
        month, day, year = m.groups()
    else:
        raise ValueError(f"not a date: {value!r}")
    return dt.date(int(year), int(month), int(day))


def format_date(date: dt.date, style: str = "iso") -> str:
    if style == "iso":
        return date.isoformat()
    if style == "eu":
        return date.strftime("%d.%m.%Y")
    if style == "us":
        return date.strftime("%m/%d/%Y")
    raise ValueError(f"unknown style {style!r}")
