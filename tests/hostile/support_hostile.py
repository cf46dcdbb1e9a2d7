"""Hostile runs: a scripted model whose calls attack, through the real CLI, and the checks
every such run must pass (nothing on the host outside the workspace, nothing secret in
the record, a clean end, no container and no worktree left)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import git, make_repo, solve_cmd, write_script

SECRET = "TOPSECRET-7f3a9c"


@dataclass
class Hostile:
    """A finished hostile run and where to look."""

    tmp: Path
    repo: Path
    home: Path
    out: Path
    marker: Path  # a host path outside the workspace that no attack may create
    secret: Path  # a host file whose content must never reach the record
    proc: subprocess.CompletedProcess[str] | None = None

    @property
    def result(self) -> dict[str, Any]:
        return dict(json.loads((self.out / "result.json").read_text()))

    @property
    def trajectory(self) -> str:
        return (self.out / "trajectory.jsonl").read_text(errors="replace")

    def notices(self) -> list[str]:
        events = [json.loads(line) for line in self.trajectory.splitlines() if line.strip()]
        return [str(e.get("message", "")) for e in events if e.get("kind") == "notice"]


def hostile(tmp_path: Path) -> Hostile:
    """A fresh repository, a host secret and a marker path, none of them in a workspace."""
    secret = tmp_path / "host-secret.txt"
    secret.write_text(SECRET + "\n")
    return Hostile(tmp=tmp_path, repo=make_repo(tmp_path), home=tmp_path / "home",
                   out=tmp_path / "out", marker=tmp_path / "PWNED", secret=secret)


def run_calls(h: Hostile, calls: list[dict[str, Any]], *extra: str, sandbox: str) -> Hostile:
    """Run ``solve`` with a model that makes ``calls`` (one turn each), then answers."""
    turns: list[dict[str, Any]] = [{"tool_calls": [c]} for c in calls]
    turns += [{"tool_calls": [{"name": "await_futures", "args": {}}]}, {"text": "Done."}]
    script = write_script(h.tmp, {"turns": turns})
    env = {**os.environ, "ASYNCFC_HOME": str(h.home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    # errors="replace": an attack's output may hold any bytes; the checks look for words
    h.proc = subprocess.run(solve_cmd(h.repo, script, h.out, *extra, sandbox=sandbox),
                            capture_output=True, text=True, errors="replace", env=env, timeout=300)
    return h


def sh(command: str) -> dict[str, Any]:
    return {"name": "run", "args": {"command": command}}


def assert_contained(h: Hostile) -> None:
    """The checks every hostile run must pass."""
    assert h.proc is not None
    output = h.proc.stdout + h.proc.stderr
    assert "Traceback" not in output, output
    assert not h.marker.exists(), f"an attack ran on the host: {h.marker} exists"
    for name in ("trajectory.jsonl", "patch.diff", "result.json"):
        assert SECRET.encode() not in (h.out / name).read_bytes(), f"the secret reached {name}"
    run_id = h.result["run_id"]
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=asyncfc-agent.session={run_id}"],
        capture_output=True, text=True,
    ).stdout.split()
    assert left == [], f"containers left: {left}"
    worktrees = h.home / "worktrees"
    assert not worktrees.exists() or [p.name for p in worktrees.iterdir()] == []
    listed = git(h.repo, "worktree", "list", "--porcelain").count("worktree ")
    assert listed == 1, git(h.repo, "worktree", "list")
