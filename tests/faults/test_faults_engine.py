"""Faults of the Docker side under a running future: the engine going away and coming
back, a container OOM-killed or removed from outside, the agent killed with SIGKILL.
Each fails the affected future with the reason, the run goes on in a new container
where it can, ends with its documented exit code and no traceback, and leaves no
container."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from engine_proxy import EngineProxy
from support import git, make_repo, session_containers, solve_cmd, wait_until, write_script

pytestmark = [pytest.mark.docker, pytest.mark.slow]

#: f1 runs until something stops it; f2, after it, shows that the run went on.
SCRIPT: dict[str, Any] = {"turns": [
    {"tool_calls": [{"name": "write_file", "args": {"path": "notes.txt", "content": "kept\n"}}]},
    {"tool_calls": [{"name": "run", "args": {"command": "echo started; sleep 300", "timeout_s": 600}}]},
    {"tool_calls": [{"name": "await_futures", "args": {}}]},
    {"tool_calls": [{"name": "run", "args": {"command": "echo after"}}]},
    {"tool_calls": [{"name": "await_futures", "args": {}}]},
    {"text": "done"},
]}


class Run:
    """``solve`` in the Docker sandbox, in the background, with its own home and record."""

    def __init__(self, tmp_path: Path, script: dict[str, Any], sandbox: dict[str, Any]) -> None:
        self.repo = make_repo(tmp_path)
        self.home = tmp_path / "home"
        self.out = tmp_path / "out"
        config = tmp_path / "asyncfc.toml"
        config.write_text("[sandbox]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in sandbox.items()))
        cmd = solve_cmd(self.repo, write_script(tmp_path, script), self.out, "--config", str(config),
                        sandbox="docker")
        env = {**os.environ, "ASYNCFC_HOME": str(self.home)}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def events(self) -> list[dict[str, Any]]:
        path = self.out / "trajectory.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.endswith("}")]

    def resolved(self) -> dict[str, dict[str, Any]]:
        return {e["future"]: e for e in self.events() if e["kind"] == "future_resolved"}

    def wait_for(self, what: str, condition: Any) -> None:
        def check() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the run ended before {what}: {self.proc.communicate()}")
            return bool(condition())
        wait_until(check, what, timeout_s=180)

    def started(self) -> None:
        """Wait until f2's command runs (its output has come back)."""
        self.wait_for("the command started", lambda: any(
            e["kind"] == "future_output" and "started" in e.get("text", "") for e in self.events()))

    def finish(self) -> tuple[int, str, str]:
        stdout, stderr = self.proc.communicate(timeout=300)
        assert "Traceback" not in stdout + stderr, stdout + stderr
        return self.proc.returncode, stdout, stderr

    def assert_went_on(self, reason: str) -> None:
        """f2 failed with ``reason``, f3 ran in a new container, the work is on the branch."""
        code, stdout, stderr = self.finish()
        assert code == 1, stdout + stderr  # answered without a passing test run: unsolved
        ends = self.resolved()
        assert ends["f2"]["status"] == "failed", ends["f2"]
        assert reason in ends["f2"]["result"], ends["f2"]["result"]
        assert ends["f3"]["status"] == "resolved" and "after" in ends["f3"]["result"]
        branch = next(line.split()[1] for line in stdout.splitlines() if line.startswith("branch:"))
        assert git(self.repo, "show", f"{branch}:notes.txt") == "kept\n"
        assert session_containers(self.home) == []


def test_the_engine_going_away_fails_the_future_and_the_run_goes_on(tmp_path: Path, docker_image: str) -> None:
    with EngineProxy(tmp_path / "engine.sock") as proxy:
        run = Run(tmp_path, SCRIPT, {"docker_host": proxy.url})
        run.started()
        cut = time.monotonic()
        proxy.cut()  # as an engine restart does: every stream through it ends
        run.wait_for("f2 to fail", lambda: "f2" in run.resolved())
        print(f"f2 failed {time.monotonic() - cut:.2f} s after the cut")
        proxy.restore()
        run.assert_went_on("the sandbox died: the Docker engine stopped answering")


def test_a_container_removed_from_outside(tmp_path: Path, docker_image: str) -> None:
    run = Run(tmp_path, SCRIPT, {})
    run.started()
    (container,) = session_containers(run.home)
    subprocess.run(["docker", "rm", "-f", container], check=True, capture_output=True)
    run.assert_went_on("was removed")


def test_a_command_past_the_memory_limit(tmp_path: Path, docker_image: str) -> None:
    hog = [{"name": "run", "args": {"command": "python3 -c 'b = bytearray(600 << 20)'"}}]
    script = {"turns": [SCRIPT["turns"][0], {"tool_calls": hog}, *SCRIPT["turns"][2:]]}
    run = Run(tmp_path, script, {"memory": "128m", "tmp_size": "16m"})
    run.assert_went_on("stopped: the command ran out of memory (limit 128m) and was killed")


def test_kill_9_of_the_agent_leaves_containers_that_prune_reaps(tmp_path: Path, docker_image: str) -> None:
    run = Run(tmp_path, SCRIPT, {})
    run.started()
    assert len(session_containers(run.home)) == 1
    run.proc.kill()
    run.proc.communicate()
    env = {**os.environ, "ASYNCFC_HOME": str(run.home)}
    prune = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "sandbox", "prune"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert prune.returncode == 0, prune.stdout + prune.stderr
    assert "removed asyncfc-" in prune.stdout
    assert session_containers(run.home) == []
