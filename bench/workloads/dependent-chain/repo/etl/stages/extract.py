from __future__ import annotations

import csv
from pathlib import Path

from .. import ROOT

COLUMNS = ("order", "date", "customer", "currency", "amount")


def extract(batch: Path) -> list[dict[str, str]]:
    with (ROOT / batch).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{batch}: missing columns {sorted(missing)}")
        return [{k: (v or "").strip() for k, v in row.items()} for row in reader]
