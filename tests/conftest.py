"""Shared test set-up.

Docker tests carry the ``docker`` marker. Where no engine (or no sandbox image) is
reachable they are skipped with the reason, unless ``ASYNCFC_REQUIRE_DOCKER=1`` (set by
.ci/run): then a skipped Docker test is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

REQUIRE_DOCKER = os.environ.get("ASYNCFC_REQUIRE_DOCKER") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if REQUIRE_DOCKER and report.skipped and item.get_closest_marker("docker") is not None:
        report.outcome = "failed"
        report.longrepr = f"Docker test skipped while ASYNCFC_REQUIRE_DOCKER=1: {report.longrepr}"


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
