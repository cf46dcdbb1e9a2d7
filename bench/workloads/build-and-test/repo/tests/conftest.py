"""Vendored test vectors (fetched by the build) and the scale of the suite's work.

BENCH_SCALE at the root scales the sizes of the randomised round trips and the
stand-in upstream's delays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCALE = float((ROOT / "BENCH_SCALE").read_text().strip() or 1)
VENDOR = ROOT / "build" / "vendor"


def vendored(name: str) -> Any:
    return json.loads(next((VENDOR / name).glob("*.json")).read_text())


def scaled(n: float) -> int:
    return max(1, round(n * SCALE))
