"""``solve`` in the Docker sandbox: the same patch as the local sandbox, and no container
left behind, neither after a normal run nor after a Ctrl-C during a running test future."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support import (
    FIX_SCRIPT,
    git,
    make_repo,
    run_solve,
    session_containers,
    solve_cmd,
    tree_state,
    wait_for_event,
    write_script,
)

pytestmark = pytest.mark.docker


def test_docker_gives_the_same_patch_as_local(tmp_path: Path, docker_image: str) -> None:
    repo = make_repo(tmp_path)
    script = write_script(tmp_path, FIX_SCRIPT)
    home = tmp_path / "home"
    patches = {}
    for kind in ("local", "docker"):
        out = tmp_path / f"out-{kind}"
        proc = run_solve(repo, script, out, home, sandbox=kind)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads((out / "result.json").read_text())
        assert result["sandbox"] == kind and result["status"] == "solved"
        patches[kind] = (out / "patch.diff").read_text()
    assert patches["docker"] == patches["local"] != ""
    assert session_containers(home) == []


def test_ctrl_c_during_a_test_future_leaves_no_container(tmp_path: Path, docker_image: str) -> None:
    repo = make_repo(tmp_path)
    (repo / "test_slow.py").write_text("import time\n\n\ndef test_slow():\n    time.sleep(60)\n")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "slow")
    before = tree_state(repo)
    script = write_script(tmp_path, {"turns": [
        {"tool_calls": [{"name": "run_tests", "args": {}}]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
    ]})
    out = tmp_path / "out"
    env = {**os.environ, "ASYNCFC_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(solve_cmd(repo, script, out, sandbox="docker"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    trajectory = out / "trajectory.jsonl"
    wait_for_event(proc, trajectory, "future_started")
    time.sleep(1.0)
    assert len(session_containers(tmp_path / "home")) >= 1  # the sandbox is up while the test runs
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert session_containers(tmp_path / "home") == []
    events = [json.loads(line) for line in trajectory.read_text().splitlines()]
    assert [e["status"] for e in events if e["kind"] == "future_resolved"] == ["cancelled"]
    assert events[-1]["kind"] == "run_finished"
    assert tree_state(repo) == before


def test_a_new_session_reaps_containers_of_dead_ones(tmp_path: Path, docker_image: str) -> None:
    repo = make_repo(tmp_path)
    env = {**os.environ, "ASYNCFC_HOME": str(tmp_path / "home")}
    victim = subprocess.Popen(
        [*solve_cmd(repo, tmp_path / "unused", tmp_path / "unused")[:3], "sandbox", "run",
         "--repo", str(repo), "--in-place", "--", "sleep", "120"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not session_containers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    orphans = session_containers(tmp_path)
    assert orphans, "the sandbox of the victim never started"
    victim.kill()  # no cleanup runs: its container is an orphan now
    victim.wait()
    out = tmp_path / "out"
    proc = run_solve(repo, write_script(tmp_path, FIX_SCRIPT), out, tmp_path / "home", sandbox="docker")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "container(s) of dead sessions" in proc.stdout
    assert not set(orphans) & set(session_containers(tmp_path))
