"""``asyncfc-agent solve`` end to end: a real git repository, the real CLI in a subprocess,
the scripted model through litellm, the local sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support import (
    BUGGY,
    FIX_SCRIPT,
    TESTS,
    alive,
    git,
    group_members,
    group_of,
    make_repo,
    read_pids,
    run_solve,
    solve_cmd,
    tree_state,
    wait_for_event,
    wait_until,
    write_script,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(make_repo(tmp_path))


def test_solve_fixes_on_a_branch_and_leaves_the_tree_alone(repo: Path, tmp_path: Path, home: Path) -> None:
    before = tree_state(repo)
    out = tmp_path / "out"
    proc = run_solve(repo, write_script(tmp_path, FIX_SCRIPT), out, home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert tree_state(repo) == before
    result = json.loads((out / "result.json").read_text())
    for key in ("status", "mode", "model", "sandbox", "wall_s", "model_s", "tool_s", "turns",
                "tokens", "cost_usd", "branch", "commit", "patch_file", "futures"):
        assert key in result, key
    assert result["status"] == "solved" and result["mode"] == "async"
    assert result["sandbox"] == "local" and result["turns"] == 5
    assert result["tests"] == {"future": "f4", "passed": True, "on_final_revision": True}
    assert [f["id"] for f in result["futures"]] == ["f1", "f2", "f3", "f4"]
    first = result["futures"][0]
    assert first["status"] == "resolved" and first["exit_code"] == 1 and first["stale"] is True
    assert {"id", "tool", "args", "status", "started_s", "ended_s", "workspace_rev", "stale"} <= set(first)
    branch = result["branch"]
    assert branch == "asyncfc/fix-add"
    assert git(repo, "rev-parse", branch).strip() == result["commit"]
    assert "a + b" in git(repo, "show", f"{branch}:calc.py")
    patch = (out / "patch.diff").read_text()
    assert "-    return a - b" in patch and "+    return a + b" in patch
    events = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    kinds = {e["kind"] for e in events}
    assert {"run_started", "request_sent", "first_token", "call_closed", "future_created",
            "future_started", "future_resolved", "future_delivered", "turn_ended",
            "run_finished"} <= kinds
    resolved = {e["future"]: e["result"] for e in events if e["kind"] == "future_resolved"}
    assert resolved["f4"].startswith("[f4 run_tests: resolved, exit 0")
    assert not (home / "worktrees" / result["run_id"]).exists()
    assert "finished: solved" in proc.stdout


def test_same_patch_in_every_mode(repo: Path, tmp_path: Path, home: Path) -> None:
    script = write_script(tmp_path, FIX_SCRIPT)
    patches = {}
    for mode in ("async", "parallel", "sync"):
        out = tmp_path / f"out-{mode}"
        proc = run_solve(repo, script, out, home, "--mode", mode)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        patches[mode] = (out / "patch.diff").read_text()
        assert json.loads((out / "result.json").read_text())["mode"] == mode
    assert patches["async"] == patches["parallel"] == patches["sync"] != ""
    branches = git(repo, "branch", "--list", "asyncfc/*").split()
    assert sorted(branches) == ["asyncfc/fix-add", "asyncfc/fix-add-2", "asyncfc/fix-add-3"]


def test_uncommitted_changes_are_carried_over_and_kept(repo: Path, tmp_path: Path, home: Path) -> None:
    (repo / "notes.txt").write_text("mine\n")  # untracked
    (repo / "test_calc.py").write_text(TESTS + "\n\ndef test_more():\n    assert add(1, 1) == 2\n")
    before = tree_state(repo)
    out = tmp_path / "out"
    proc = run_solve(repo, write_script(tmp_path, FIX_SCRIPT), out, home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert tree_state(repo) == before and (repo / "notes.txt").read_text() == "mine\n"
    patch = (out / "patch.diff").read_text()
    assert "calc.py" in patch and "test_more" not in patch and "notes.txt" not in patch
    branch = json.loads((out / "result.json").read_text())["branch"]
    assert "test_more" in git(repo, "show", f"{branch}:test_calc.py")


def test_apply_writes_the_patch_to_the_tree(repo: Path, tmp_path: Path, home: Path) -> None:
    out = tmp_path / "out"
    proc = run_solve(repo, write_script(tmp_path, FIX_SCRIPT), out, home, "--apply")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / "calc.py").read_text() == BUGGY.replace("a - b", "a + b")
    assert json.loads((out / "result.json").read_text())["applied"] is True


def test_apply_leaves_a_tree_changed_meanwhile_alone_and_keeps_the_patch(
    repo: Path, tmp_path: Path, home: Path
) -> None:
    gate = tmp_path / "gate"
    hold = {"name": "run", "args": {"command": f"while [ ! -e {gate} ]; do sleep 0.05; done",
                                    "readonly": True}}
    script = {"turns": [{"tool_calls": [hold]}, *FIX_SCRIPT["turns"]]}  # its await waits for the gate
    out = tmp_path / "out"
    env = {**os.environ, "ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.Popen(solve_cmd(repo, write_script(tmp_path, script), out, "--apply"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_event(proc, out / "trajectory.jsonl", "future_started")
        mine = BUGGY.replace("a - b", "b + a")  # the same line, changed by the user meanwhile
        (repo / "calc.py").write_text(mine)
    finally:
        gate.touch()
    stdout, stderr = proc.communicate(timeout=180)
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "solved" and result["applied"] is False, stdout + stderr
    assert "the patch does not apply" in result["apply_error"]
    assert f"it is kept at {out / 'patch.diff'}" in result["apply_error"]
    assert "the patch does not apply" in stdout + stderr and "Traceback" not in stdout + stderr
    assert (repo / "calc.py").read_text() == mine  # nothing of the user's is lost
    assert "+    return a + b" in (out / "patch.diff").read_text()
    assert "a + b" in git(repo, "show", f"{result['branch']}:calc.py")


def test_a_directory_without_git_is_worked_on_a_copy(tmp_path: Path, home: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "calc.py").write_text(BUGGY)
    (plain / "test_calc.py").write_text(TESTS)
    (plain / "pytest.ini").write_text("[pytest]\n")
    out = tmp_path / "out"
    proc = run_solve(plain, write_script(tmp_path, FIX_SCRIPT), out, home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (plain / "calc.py").read_text() == BUGGY
    assert not (plain / ".git").exists()
    result = json.loads((out / "result.json").read_text())
    assert result["branch"] is None and result["status"] == "solved"
    assert "+    return a + b" in (out / "patch.diff").read_text()


def test_unsolved_when_the_last_tests_fail(repo: Path, tmp_path: Path, home: Path) -> None:
    script = {"turns": [{"tool_calls": [{"name": "run_tests", "args": {}}]},
                        {"tool_calls": [{"name": "await_futures", "args": {}}]},
                        {"text": "I give up."}]}
    out = tmp_path / "out"
    proc = run_solve(repo, write_script(tmp_path, script), out, home)
    assert proc.returncode == 1
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "unsolved" and result["exit_reason"] == "submitted"
    assert result["branch"] is None and (out / "patch.diff").read_text() == ""


def test_verify_runs_the_tests_when_the_last_run_is_stale(repo: Path, tmp_path: Path, home: Path) -> None:
    stale = {"turns": [FIX_SCRIPT["turns"][0], FIX_SCRIPT["turns"][1], {"text": "Fixed, I think."}]}
    script = write_script(tmp_path, stale)
    proc = run_solve(repo, script, tmp_path / "plain", home)
    assert proc.returncode == 1  # the only test run was before the edit
    assert json.loads((tmp_path / "plain" / "result.json").read_text())["tests"]["on_final_revision"] is False
    proc = run_solve(repo, script, tmp_path / "verified", home, "--verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "verified" / "result.json").read_text())
    assert result["tests"] == {"future": "f4", "passed": True, "on_final_revision": True}
    assert result["futures"][-1]["tool"] == "run_tests" and result["futures"][-1]["delivered"] is False


def test_bad_input_gives_a_clear_error(repo: Path, tmp_path: Path, home: Path) -> None:
    proc = run_solve(repo, tmp_path / "missing.yaml", tmp_path / "out", home)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("turns: [{tool_calls: [{args: {}}]}]\n")
    proc = run_solve(repo, bad, tmp_path / "out2", home)
    assert proc.returncode == 2
    assert "turns.0.tool_calls.0.name: Field required" in proc.stderr
    proc = run_solve(repo, write_script(tmp_path, FIX_SCRIPT), tmp_path / "out3", home,
                     "--mode", "eventually")
    assert proc.returncode == 2 and "eventually" in proc.stderr


def test_a_model_that_fails_mid_run_is_an_infrastructure_error(
    repo: Path, tmp_path: Path, home: Path
) -> None:
    script = write_script(tmp_path, {**FIX_SCRIPT, "profile": {"ttft_s": 1.0}})
    out = tmp_path / "out"
    env = {**os.environ, "ASYNCFC_HOME": str(home)}
    cmd = solve_cmd(repo, script, out)
    # the script is broken after the run has started: the model fails on its next turn
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "trajectory.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    script.write_text("turns: not a list\n")
    stdout, stderr = proc.communicate(timeout=120)
    result = json.loads((out / "result.json").read_text())
    assert proc.returncode == 3, stdout + stderr
    assert result["exit_reason"] == "model_error" and "turns" in result["error"]
    assert tree_state(repo)[2] == BUGGY


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell does for a background job


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm-in-background"])
def test_ctrl_c_stops_everything_and_keeps_the_record(
    repo: Path, tmp_path: Path, home: Path, stop: str,
) -> None:
    pidfile = tmp_path / "pids"
    (repo / "test_slow.py").write_text(
        "import os, subprocess, time\n\n"
        "def test_slow():\n"
        "    child = subprocess.Popen(['sleep', '300'])\n"
        f"    with open({str(pidfile)!r} + '.tmp', 'w') as f:\n"
        "        f.write(f'{os.getpid()} {child.pid}')\n"
        f"    os.rename({str(pidfile)!r} + '.tmp', {str(pidfile)!r})\n"
        "    time.sleep(300)\n"
    )
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "slow")
    before = tree_state(repo)
    script = {"turns": [{"tool_calls": [{"name": "run_tests", "args": {}}]},
                        {"tool_calls": [{"name": "await_futures", "args": {}}]},
                        {"text": "never reached"}]}
    out = tmp_path / "out"
    env = {**os.environ, "ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    background = stop == "sigterm-in-background"
    proc = subprocess.Popen(solve_cmd(repo, write_script(tmp_path, script), out), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ignore_sigint if background else None)
    trajectory = out / "trajectory.jsonl"
    try:
        wait_for_event(proc, trajectory, "future_started")
        test_run, child = read_pids(pidfile)
    except BaseException:
        proc.kill()
        raise
    group = group_of(test_run)
    # the test run and its child run, in a process group of their own (not the agent's)
    assert alive(test_run) and alive(child) and group_of(child) == group != os.getpgid(proc.pid)
    proc.send_signal(signal.SIGTERM if background else signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted" in stderr
    wait_until(lambda: not group_members(group), "the test run's process group to end", 30)
    events = [json.loads(line) for line in trajectory.read_text().splitlines()]
    assert events[-1]["kind"] == "run_finished" and events[-1]["exit_reason"] == "interrupted"
    f1 = [e for e in events if e["kind"] == "future_resolved"]
    assert f1 and f1[0]["status"] == "cancelled"
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "error" and result["exit_reason"] == "interrupted"
    assert tree_state(repo) == before
    assert not (home / "worktrees" / result["run_id"]).exists()
    assert git(repo, "worktree", "list").count("\n") == 1


def test_old_demo_repositories_are_pruned_recent_ones_kept(tmp_path: Path) -> None:
    from asyncfc_agent.cli.demo import KEEP_YOUNGER_S, prune_demo_repos

    root = tmp_path / "demo"
    now = time.time()
    ages = [10 * KEEP_YOUNGER_S, 9 * KEEP_YOUNGER_S, 8 * KEEP_YOUNGER_S, 60.0, 30.0]
    for i, age in enumerate(ages):
        run = root / f"run{i}" / "dates"
        run.mkdir(parents=True)
        os.utime(run.parent, (now - age, now - age))
    removed = prune_demo_repos(root, keep=1)
    # beyond the newest one, every old repository goes; young ones stay whatever their count
    assert sorted(p.name for p in removed) == ["run0", "run1", "run2"]
    assert sorted(p.name for p in root.iterdir()) == ["run3", "run4"]
    assert prune_demo_repos(root, keep=1) == []  # the young ones stay
    assert prune_demo_repos(tmp_path / "missing") == []
