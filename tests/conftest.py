"""Shared test set-up.

A test that needs what a machine may lack (a Docker engine and the sandbox image, tmux,
Chromium, Ray, ripgrep, git) is skipped with the reason. In CI nothing may be missing:
``ASYNCFC_NO_SKIPS=1`` (set by .ci/run) turns every skip into a failure, except for tests
carrying a marker of ``ALLOWED_SKIPS``, which are off unless asked for.
``ASYNCFC_REQUIRE_DOCKER=1`` does the same for the Docker tests alone.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from support import make_repo
from terminal import Terminal


def pytest_configure(config: pytest.Config) -> None:
    # A suite started in the background of a shell without job control (``cmd &`` in a
    # script, some CI runners) inherits SIGINT ignored, and so would every process the tests
    # start: the Ctrl-C tests would then test nothing but that. The processes are given a
    # terminal's foreground default instead, the state a user's Ctrl-C meets.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

REQUIRE_DOCKER = os.environ.get("ASYNCFC_REQUIRE_DOCKER") == "1"
NO_SKIPS = os.environ.get("ASYNCFC_NO_SKIPS") == "1"

#: Markers of the tests that may skip even with ``ASYNCFC_NO_SKIPS=1``, and why.
ALLOWED_SKIPS = {
    "llama": "runs a real llama.cpp server on a downloaded model: slow, and off unless asked for",
}


def unexpected_skip(item: pytest.Item) -> str | None:
    """Why a skip of ``item`` is a failure here, or None when it may skip."""
    if any(item.get_closest_marker(name) is not None for name in ALLOWED_SKIPS):
        return None
    if NO_SKIPS:
        return "test skipped while ASYNCFC_NO_SKIPS=1 (allowed only for the markers of ALLOWED_SKIPS)"
    if REQUIRE_DOCKER and item.get_closest_marker("docker") is not None:
        return "Docker test skipped while ASYNCFC_REQUIRE_DOCKER=1"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail") and (why := unexpected_skip(item)):
        report.outcome = "failed"
        report.longrepr = f"{why}: {report.longrepr}"


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The default sandbox image; skips the test, with the reason, where none can run."""
    from asyncfc_agent.sandboxes.base import SandboxError
    from asyncfc_agent.sandboxes.engine import connect, image_present
    from asyncfc_agent.sandboxes.image import default_image, missing_image_message

    try:
        client = connect()
    except SandboxError as exc:
        pytest.skip(str(exc))
    image = default_image()
    if not image_present(client, image):
        pytest.skip(missing_image_message(image))
    return str(image)


# -- the REPL's tests in a real terminal (a test module may define its own home and repo)


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path)
    try:
        yield t
    finally:
        t.kill()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root: Path = make_repo(tmp_path)
    return root
