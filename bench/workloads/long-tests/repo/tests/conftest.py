"""Shared fixtures: a stand-in for the carrier's rate service, on a real socket.

The service answers after a delay, like the real one does from our CI network.
BENCH_SCALE (a number in the file of that name at the root) scales every delay of
the suite, so that a quick run of it stays representative.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCALE = float((ROOT / "BENCH_SCALE").read_text().strip() or 1)

#: Seconds the service takes to answer one request.
LATENCY_S = 0.2 * SCALE
REMOTE_POSTCODES = {("DE", "18565"), ("DE", "25999"), ("DK", "3700")}


def scaled(seconds: float) -> float:
    return seconds * SCALE


class RateService(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency_s = LATENCY_S
        self.fuel_pct = 12.5
        self.failures_left = 0  # answers of 503 still to give
        self.hang_s = 0.0  # an extra delay, to make the client time out
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, path: str) -> None:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1

    def take_failure(self) -> bool:
        with self._lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    server: RateService

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        service = self.server
        url = urllib.parse.urlparse(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        service.count(url.path)
        time.sleep(service.latency_s + service.hang_s)
        if service.take_failure():
            self._send(503, {"error": "busy"})
        elif url.path == "/fuel":
            self._send(200, {"surcharge_pct": service.fuel_pct})
        elif url.path == "/remote":
            key = (params.get("country", ""), params.get("postcode", ""))
            self._send(200, {"remote": key in REMOTE_POSTCODES})
        else:
            self._send(404, {"error": f"no such resource {url.path}"})

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass


@pytest.fixture
def rate_service() -> Iterator[RateService]:
    service = RateService()
    thread = threading.Thread(target=service.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.shutdown()
        service.server_close()
