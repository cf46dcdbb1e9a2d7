"""etl: the nightly import of the shop's orders into the reporting database."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scale() -> float:
    """BENCH_SCALE at the root scales the stand-in latencies of the upstream services."""
    path = ROOT / "BENCH_SCALE"
    return float(path.read_text().strip() or 1) if path.exists() else 1.0
