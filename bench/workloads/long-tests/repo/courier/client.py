"""The carrier's rate service: fuel surcharge and remote areas, over HTTP, with retries."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class RateServiceError(RuntimeError):
    """The rate service could not be reached or answered badly, after retries."""


#: Status codes worth another attempt: the service is busy or restarting.
RETRY_STATUS = frozenset({429, 502, 503, 504})


class RateServiceClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        sleep: Any = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self.requests = 0

    def get_json(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode(params)
        url = f"{self.base_url}/{path.lstrip('/')}" + (f"?{query}" if query else "")
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            self.requests += 1
            try:
                with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRY_STATUS:
                    raise RateServiceError(f"{url}: HTTP {exc.code}") from None
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, socket.timeout, TimeoutError) as exc:
                last = str(getattr(exc, "reason", exc))
            except json.JSONDecodeError as exc:
                raise RateServiceError(f"{url}: not JSON ({exc})") from None
        raise RateServiceError(f"{url}: {last} after {self.retries + 1} attempts")

    def fuel_surcharge_pct(self) -> float:
        return float(self.get_json("fuel")["surcharge_pct"])

    def is_remote(self, country: str, postcode: str) -> bool:
        return bool(self.get_json("remote", country=country, postcode=postcode)["remote"])
