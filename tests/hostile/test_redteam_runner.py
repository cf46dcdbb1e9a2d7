"""Signals from a command to the runner, the container's PID 1: none may end it, so no
command can kill the other futures of the task or its container."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support_hostile import assert_contained, hostile, run_calls, sh


@pytest.mark.docker
@pytest.mark.slow
def test_docker_signals_to_the_runner_end_nothing(tmp_path: Path, docker_image: str) -> None:
    h = hostile(tmp_path)
    signals = " ".join(f"kill -{s} 1;" for s in ("INT", "TERM", "HUP", "QUIT", "USR1", "PIPE", "CHLD"))
    h = run_calls(h, [sh(f"{signals} sleep 1; echo after"), sh("echo alive")], sandbox="docker")
    assert_contained(h)
    ends = {}
    for line in h.trajectory.splitlines():
        event = json.loads(line)
        if event.get("kind") == "future_resolved":
            ends[event["future"]] = (event["status"], event["exit_code"], str(event["result"]))
    assert ends["f1"][:2] == ("resolved", 0) and ends["f1"][2].endswith("after"), ends["f1"]
    assert ends["f2"][:2] == ("resolved", 0) and ends["f2"][2].endswith("alive"), ends["f2"]
    assert not [n for n in h.notices() if "died" in n], h.notices()
