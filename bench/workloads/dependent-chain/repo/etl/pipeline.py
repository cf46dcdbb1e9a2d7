"""The import: extract, validate, enrich, convert, load."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .stages.currency import convert
from .stages.enrich import enrich
from .stages.extract import extract
from .stages.load import load
from .stages.validate import validate

STAGES = ("extract", "validate", "enrich", "currency", "load")


def run(batch: Path) -> sqlite3.Connection:
    rows = extract(batch)
    rows = validate(rows)
    rows = enrich(rows)
    rows = convert(rows)
    return load(rows)
