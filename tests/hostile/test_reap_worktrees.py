"""``kill -9`` of the agent leaves its worktree: ``sandbox prune`` and the next run reap it,
keeping what it had not committed on its branch, and dropping a branch that holds nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from support import git, make_repo, solve_cmd, write_script


def killed_run(tmp_path: Path, repo: Path, home: Path, name: str, *, edit: bool) -> dict[str, str]:
    """Start a run whose last call sleeps, kill -9 it once that runs; its run_started event."""
    tag = f"asyncfc-reap-{uuid.uuid4().hex}"
    turns: list[dict[str, object]] = []
    if edit:
        turns.append({"tool_calls": [{"name": "write_file",
                                      "args": {"path": "note.txt", "content": "unsaved\n"}}]})
    turns += [{"tool_calls": [{"name": "run", "args": {"command": f"sleep 60 # {tag}"}}]},
              {"tool_calls": [{"name": "await_futures", "args": {}}]}]
    script = write_script(tmp_path, {"turns": turns}, f"{name}.yaml")
    out = tmp_path / f"out-{name}"
    env = {**os.environ, "ASYNCFC_HOME": str(home)}
    proc = subprocess.Popen(solve_cmd(repo, script, out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    trajectory = out / "trajectory.jsonl"
    deadline = time.monotonic() + 120
    while not (trajectory.exists() and '"handle_returned"' in trajectory.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, f"{name} never got to its sleep"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _kill_tagged(tag)
    return next(e for e in map(json.loads, trajectory.read_text().splitlines())
                if e["kind"] == "run_started")


def _kill_tagged(tag: str) -> None:
    """The sleep the dead run left behind (its own process group), found by its tag."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and tag.encode() in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            continue


def branches(repo: Path) -> list[str]:
    return str(git(repo, "branch", "--format=%(refname:short)")).split()


@pytest.mark.slow
def test_the_next_run_and_prune_reap_worktrees_of_killed_runs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    home = tmp_path / "home"
    worked = killed_run(tmp_path, repo, home, "worked", edit=True)
    assert Path(worked["workspace"]).is_dir() and worked["branch"] in branches(repo)
    assert (home / "worktrees" / f"{worked['run_id']}.owner.json").is_file()

    # the next run reaps it first thing, keeping its unsaved work on its branch
    idle = killed_run(tmp_path, repo, home, "idle", edit=False)
    assert "removed 1 worktree(s) of dead runs" in (tmp_path / "out-idle" / "trajectory.jsonl").read_text()
    assert not Path(worked["workspace"]).exists()
    assert git(repo, "show", f"{worked['branch']}:note.txt") == "unsaved\n"
    assert Path(idle["workspace"]).is_dir() and idle["branch"] in branches(repo)

    # no engine here: the containers part fails, the worktree is reaped all the same
    env = {**os.environ, "ASYNCFC_HOME": str(home), "DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    prune = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "sandbox", "prune"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in prune.stderr
    assert prune.stdout.count("removed worktree") == 1, prune.stdout + prune.stderr
    assert not Path(idle["workspace"]).exists()
    assert idle["branch"] not in branches(repo)  # it held nothing new
    assert git(repo, "worktree", "list").count("\n") == 1
    assert list((home / "worktrees").iterdir()) == []
    assert git(repo, "status", "--porcelain") == ""  # the user's tree untouched
