"""``--sandbox auto``: Docker where an engine answers (a missing image is built), else local."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from asyncfc_agent.agent.sandboxing import open_sandbox
from support import FIX_SCRIPT, make_repo, run_solve, write_script


def test_auto_is_local_where_no_engine_answers(tmp_path: Path) -> None:
    nowhere = {"docker_host": f"unix://{tmp_path}/no-engine.sock"}
    assert open_sandbox("auto", tmp_path, "s", nowhere, None).kind == "local"
    assert open_sandbox("docker", tmp_path, "s", nowhere, None).kind == "docker"  # asked for: no fallback


@pytest.mark.docker
def test_auto_is_docker_where_an_engine_answers(tmp_path: Path, docker_image: str) -> None:
    assert open_sandbox("auto", tmp_path, "s", {}, None).kind == "docker"
    missing = {"image": "asyncfc-agent-sandbox:no-such-tag"}  # says so when it starts
    assert open_sandbox("auto", tmp_path, "s", missing, None).kind == "docker"


def test_solve_falls_back_to_the_local_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environ, "DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    out = tmp_path / "out"
    proc = run_solve(make_repo(tmp_path), write_script(tmp_path, FIX_SCRIPT), out, tmp_path / "home",
                     sandbox="auto")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert (result["sandbox"], result["status"]) == ("local", "solved")
