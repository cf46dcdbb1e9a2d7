"""Job logs: a header of ``key: value`` lines, then what the job printed."""

from __future__ import annotations

from pathlib import Path

from . import ROOT


def header(log: Path) -> dict[str, str]:
    fields = {}
    for line in (ROOT / log).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields
