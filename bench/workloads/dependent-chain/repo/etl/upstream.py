"""The upstream services of the import, as the jobs reach them from the batch host.

The reporting host has no route to production, so the import reads exports of the
scheduler's database, the exchange rates and the customer registry from disk. Their
answer times are kept (a delay per request), so that the job and its replay take the
time they take in production, and the tests see the same timeouts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from . import ROOT, scale

#: Seconds per request, per service.
LATENCY_S = {"scheduler": 0.5, "rates": 0.4, "registry": 0.12}


def call(service: str, path: Path) -> Any:
    time.sleep(LATENCY_S[service] * scale())
    return json.loads((ROOT / path).read_text(encoding="utf-8"))
