"""Fixtures of the MCP tests: real servers (the ``mcp`` package's server API) run as real
processes, over stdio and over Streamable HTTP on a free local port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_support import SERVER, free_port


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    path = tmp_path / "markers"
    path.mkdir()
    return path


@pytest.fixture
def http_url(tmp_path: Path) -> Iterator[str]:
    """The URL of the test server, serving Streamable HTTP in a process of its own."""
    yield from serve(tmp_path, "--http", "/mcp")


@pytest.fixture
def sse_url(tmp_path: Path) -> Iterator[str]:
    """The URL of the test server, serving the older HTTP+SSE transport."""
    yield from serve(tmp_path, "--sse", "/sse")


def serve(tmp_path: Path, mode: str, path: str) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "http-server.log").open("w")
    env = {"MARKERS": str(tmp_path / "markers"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, str(SERVER), mode, str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the HTTP server did not come up: "
                                     f"{(tmp_path / 'http-server.log').read_text()}") from None
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


