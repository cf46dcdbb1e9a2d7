"""``batch`` without Ray: the tasks file and its checks, a worker's run on its own (real
git, the scripted model, the local sandbox), the output folder, the clean-up after a killed
worker, and the progress views drawn on a fixed console."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from asyncfc_agent.batch import worker
from asyncfc_agent.batch.outputs import Failure, OutDir, outcome_of
from asyncfc_agent.batch.tasks import Defaults, TaskFileError, load_tasks
from asyncfc_agent.cli.app import app
from asyncfc_agent.cli.batch import parse_size
from asyncfc_agent.cli.batch_progress import BatchState, LiveProgress, PlainProgress, render
from rich.console import Console
from support import FIX_SCRIPT, git, make_repo, write_script
from typer.testing import CliRunner


def write_tasks(path: Path, *lines: object) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(make_repo(tmp_path))


@pytest.fixture
def script(tmp_path: Path) -> Path:
    return Path(write_script(tmp_path, FIX_SCRIPT, "fix.yaml"))


def test_every_bad_line_is_named_with_its_number(tmp_path: Path, repo: Path, script: Path) -> None:
    good = {"id": "ok", "repo": "calc", "issue": "Fix add()", "model": "scripted/fix.yaml"}
    path = write_tasks(
        tmp_path / "tasks.jsonl",
        good,
        "{not json",
        {"id": "no-issue", "repo": "calc"},
        "",
        {"id": "x/y", "repo": "calc", "issue": "i"},
        {**good, "colour": "red"},
        {**good, "id": "gone", "repo": "missing"},
        {**good, "id": "ref", "ref": "v1", "repo": "."},
        {**good, "id": "bad-script", "model": "scripted/none.yaml"},
        good,
        {**good, "id": "mode", "mode": "fast"},
    )
    with pytest.raises(TaskFileError) as caught:
        load_tasks(path, Defaults())
    errors = dict(caught.value.errors)
    assert sorted(errors) == [2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert errors[2].startswith("not JSON")
    assert errors[3] == "issue: required"
    assert errors[5].startswith("id: String should match pattern")
    assert errors[6].startswith("colour: unknown key (known: id, repo, issue, ref, model")
    assert errors[7] == f"repo: {tmp_path / 'missing'} is not a directory (nor a git URL)"
    assert "is not a git repository, so it has no ref 'v1'" in errors[8]
    assert errors[9].startswith(f"model: script {tmp_path / 'none.yaml'} does not exist")
    assert errors[10] == "id 'ok' is already used on line 1"
    assert errors[11].startswith("mode: Input should be 'async', 'parallel' or 'sync'")


def test_a_line_overrides_the_command_line_and_paths_are_relative_to_the_file(
    tmp_path: Path, repo: Path, script: Path
) -> None:
    path = write_tasks(
        tmp_path / "tasks.jsonl",
        {"id": "a", "repo": "calc", "issue": "Fix add()"},
        {"id": "b", "repo": "calc", "issue": "Fix", "model": "scripted/fix.yaml", "mode": "sync",
         "timeout": 5, "ref": "main"},
        {"id": "c", "repo": "file:///nowhere/repo.git", "issue": "Fix"},
    )
    defaults = Defaults(model=f"scripted/{script}", mode="async", timeout=60, max_turns=9)
    a, b, c = load_tasks(path, defaults)
    assert (a.source, a.clone, a.settings) == (str(repo), False, defaults)
    assert b.settings.mode == "sync" and b.settings.timeout == 5 and b.settings.max_turns == 9
    assert b.settings.model == f"scripted/{script}" and b.clone  # a ref means a clone at it
    assert (c.source, c.clone) == ("file:///nowhere/repo.git", True)


def test_the_command_rejects_a_bad_file_before_starting_anything(tmp_path: Path, repo: Path) -> None:
    pytest.importorskip("ray", reason="the batch command needs Ray (pip install 'asyncfc-agent[batch]')")
    path = write_tasks(tmp_path / "tasks.jsonl", {"id": "a", "repo": "calc", "issue": "Fix"},
                       {"id": "b", "repo": "calc"})
    env = {**os.environ, "ASYNCFC_MODEL": "", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "batch", str(path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert f"error: {path}:2: issue: required" in proc.stderr
    # a well-formed line without a model anywhere: found by the same check as solve's
    write_tasks(path, {"id": "a", "repo": "calc", "issue": "Fix"})
    proc = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "batch", str(path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert f"error: {path}:1: no model: give --model" in proc.stderr


def test_without_ray_the_command_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the extra sees
    result = CliRunner().invoke(app, ["batch", str(tmp_path / "tasks.jsonl")])
    assert result.exit_code == 2
    assert "pip install 'asyncfc-agent[batch]'" in result.output


@pytest.mark.parametrize(("text", "size"), [("2g", 2 * 1024**3), ("512MiB", 512 * 1024**2),
                                            ("1.5GB", 3 * 1024**3 // 2), ("0", 0), ("4096", 4096)])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(("status", "reason", "outcome"), [
    ("solved", "submitted", "solved"), ("unsolved", "submitted", "unsolved"),
    ("unsolved", "max_turns", "unsolved"), ("unsolved", "timeout", "failed"),
    ("error", "model_error", "failed"), ("error", "worker_died", "failed"),
    ("error", "interrupted", "cancelled"),
])
def test_outcomes(status: str, reason: str, outcome: str) -> None:
    assert outcome_of({"status": status, "exit_reason": reason}) == outcome


def test_a_worker_clones_a_bare_repository_at_its_ref_and_its_record_lands_in_the_out_dir(
    tmp_path: Path, repo: Path, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCFC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "calc.py").write_text("def add(a, b):\n    return a * b\n")  # main moves on
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "later")
    bare = tmp_path / "calc.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    path = write_tasks(tmp_path / "tasks.jsonl",
                       {"id": "t1", "repo": "calc.git", "ref": base, "issue": "Fix add()"})
    (task,) = load_tasks(path, Defaults(model=f"scripted/{script}", sandbox="local"))

    report = worker.run_task(task, "b1")

    assert report.failure is None and report.crash is None and report.cloned
    assert set(report.files) == {"result.json", "trajectory.jsonl", "patch.diff"}
    assert "-    return a - b\n+    return a + b" in report.files["patch.diff"].decode()  # from base
    assert not (tmp_path / "home" / "batch" / "b1").exists()  # staging and lease are gone
    assert not list((tmp_path / "home" / "worktrees").iterdir())
    out = OutDir(tmp_path / "out")
    out.start_summary([])
    line = out.record(task, "b1", report, None, 3.25)
    assert line["status"] == "solved" and line["branch"] is None  # the clone's branch is gone
    assert line["patch"] == str(tmp_path / "out" / "t1" / "patch.diff")
    assert line["node"]["node_id"] == "local" and line["wall_s"] == 3.25
    result = json.loads((tmp_path / "out" / "t1" / "result.json").read_text())
    assert result["out_dir"] == str(tmp_path / "out" / "t1")
    assert result["batch"]["outcome"] == "solved" and result["batch"]["line"] == 1
    assert [json.loads(x)["id"] for x in out.summary.read_text().splitlines()] == ["t1"]
    assert out.done("t1") is not None


def test_a_missing_ref_and_a_failure_without_a_report_are_recorded(
    tmp_path: Path, repo: Path, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCFC_HOME", str(tmp_path / "home"))
    path = write_tasks(tmp_path / "tasks.jsonl",
                       {"id": "r", "repo": "calc", "ref": "no-such-ref", "issue": "Fix add()"},
                       {"id": "k", "repo": "calc", "issue": "Fix add()"})
    bad_ref, killed = load_tasks(path, Defaults(model=f"scripted/{script}", sandbox="local"))
    report = worker.run_task(bad_ref, "b2")
    assert report.failure == ("repository_error", f"{repo} has no ref 'no-such-ref'")
    out = OutDir(tmp_path / "out")
    out.start_summary([])
    line = out.record(bad_ref, "b2", report, None, 0.5)
    assert (line["status"], line["exit_reason"]) == ("failed", "repository_error")
    (out.task_dir("k")).mkdir(parents=True)
    (out.task_dir("k") / "patch.diff").write_text("an earlier run's patch")
    line = out.record(killed, "b2", None, Failure("worker_died", "the worker process died",
                                                  {"node_id": "n1"}, "run-k"), 7.0)
    assert line == {"id": "k", "status": "failed", "exit_reason": "worker_died",
                    "node": {"node_id": "n1"}, "wall_s": 7.0, "branch": None, "patch": None,
                    "patch_bytes": 0, "error": "the worker process died", "run_id": "run-k"}
    assert sorted(p.name for p in out.task_dir("k").iterdir()) == ["result.json"]
    assert out.done("k") is None and out.done("r") is None  # --resume runs both again


def test_reap_removes_what_a_killed_worker_left(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ASYNCFC_HOME", str(home))
    run_id = "20260101-000000-abcdef-t9"
    # what a dead worker leaves: a process of its local sandbox in a group of its own, a
    # worktree registered in the repository, a staging folder, and its lease
    env = {**os.environ, worker.MARKER: run_id}
    orphan = subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)
    tree = home / "worktrees" / run_id
    tree.parent.mkdir(parents=True)
    git(repo, "worktree", "add", "-q", "-b", "asyncfc/batch-t9", str(tree))
    staging = home / "batch" / "b3" / "runs" / run_id
    staging.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    lease = home / "batch" / "b3" / "leases" / f"{run_id}.json"
    lease.parent.mkdir(parents=True)
    lease.write_text(json.dumps({"task": "t9", "run_id": run_id, "pid": dead.pid, "pid_start": "",
                                 "staging": str(staging), "sandbox": "local", "node": {}}))
    alive = lease.with_name("other.json")  # a task whose worker still runs is left alone
    alive.write_text(json.dumps({"task": "t8", "run_id": "r8", "pid": os.getpid(),
                                 "pid_start": "", "staging": "", "sandbox": "local"}))
    try:
        reaped = worker.reap("b3")
        assert [x["task"] for x in reaped] == ["t9"]
        assert orphan.wait(timeout=5) == -signal.SIGKILL
        assert not tree.exists() and not staging.exists() and not lease.exists()
        assert run_id not in git(repo, "worktree", "list")
        assert alive.exists()
    finally:
        if orphan.poll() is None:
            orphan.kill()


def test_the_progress_view_draws_counts_eta_and_running_tasks() -> None:
    state = BatchState(total=6, skipped=1, started_at=100.0)
    state.start("t1", {"node_id": "abcdef0123456789", "ip": "10.0.0.2"}, 100.0)
    state.start("t2", {"node_id": "0123456789abcdef", "ip": "10.0.0.3"}, 104.0)
    state.start("t3", {"node_id": "0123456789abcdef", "ip": "10.0.0.3"}, 105.0)
    state.finish({"id": "t3", "status": "failed"})
    state.start("t4", {"node_id": "abcdef0123456789", "ip": "10.0.0.2"}, 106.0)
    state.finish({"id": "t4", "status": "solved"})
    console = Console(width=90, file=io.StringIO(), color_system=None, legacy_windows=False)
    console.print(render(state, 130.0))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert text.splitlines() == [
        "━" * 10 + " " * 20 + " 2/6 elapsed 0:30 eta 1:00",  # 2 done in 30 s: 4 more take 60

        "solved 1  unsolved 0  failed 1  running 2  waiting 2  (skipped 1 with results)",
        "  t1   30.0 s  abcdef01 (10.0.0.2)",
        "  t2   26.0 s  01234567 (10.0.0.3)",
    ]


def test_the_plain_log_has_a_line_per_start_and_end() -> None:
    now = [50.0]
    out = io.StringIO()
    view = PlainProgress(BatchState(total=2), out=out, clock=lambda: now[0])
    with view:
        now[0] = 51.5
        view.task_started("t1", {"node_id": "abcdef0123456789", "ip": "10.0.0.2"})
        now[0] = 60.0
        view.task_finished({"id": "t1", "status": "failed", "exit_reason": "timeout", "wall_s": 8.5,
                            "node": {"node_id": "abcdef0123456789", "ip": "10.0.0.2"},
                            "error": "the run took too long\nmore"})
        view.interrupted()
    assert out.getvalue().splitlines() == [
        "    1.5  > t1: started on abcdef01 (10.0.0.2)",
        "   10.0  ✗ t1: failed (timeout) in 8.5 s on abcdef01 (10.0.0.2): the run took too long"
        "  [1/2, 0 running]",
        "   10.0  interrupted: cancelling the running tasks",
    ]


def test_the_live_view_prints_each_ended_task_above_its_frame_and_erases_the_frame() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, height=30, color_system=None)
    now = [50.0]
    node = {"node_id": "abcdef0123456789", "ip": "10.0.0.2"}
    with LiveProgress(BatchState(total=2), console=console, clock=lambda: now[0]) as view:
        view.task_started("t1", node)
        view.task_started("t2", node)
        now[0] = 58.5
        view.task_finished({"id": "t1", "status": "failed", "exit_reason": "timeout", "wall_s": 8.5,
                            "node": node, "error": "the run took too long"})
    written = out.getvalue()
    assert "✗ t1: failed (timeout) in 8.5 s on abcdef01 (10.0.0.2): the run took too long" in written
    # the frame showed the running task and the counts, and is gone at the end: after the
    # cursor is shown again, only the frame's erasure (up a line, clear it, per line)
    assert "t2" in written and "1/2" in written, written
    shown = written.rindex("\x1b[?25h")
    assert re.fullmatch(r"\r(\x1b\[1A\x1b\[2K)+", written[shown + len("\x1b[?25h"):]), repr(written[shown:])


def test_a_resumed_summary_starts_with_the_results_it_keeps(tmp_path: Path) -> None:
    out = OutDir(tmp_path / "out")
    out.start_summary([{"status": "solved", "exit_reason": "submitted", "patch_bytes": 9,
                        "patch_file": "/x/patch.diff",
                        "batch": {"task": "old", "outcome": "solved", "wall_s": 1.0}}])
    (line,) = [json.loads(x) for x in out.summary.read_text().splitlines()]
    assert (line["id"], line["status"], line["patch"], line["wall_s"]) == ("old", "solved", "/x/patch.diff", 1.0)


def test_a_task_starting_while_another_on_its_node_tidies_up_keeps_its_lease_and_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tasks of one node share its batch folder: one that ends removes the folders it leaves
    # empty while another, starting, is between making them and writing into them
    monkeypatch.setenv("ASYNCFC_HOME", str(tmp_path / "home"))
    node = worker.NodeInfo(node_id="n", ip="127.0.0.1", hostname="h", pid=os.getpid())
    (task,) = load_tasks(write_tasks(tmp_path / "t.jsonl", {"id": "t", "repo": str(tmp_path),
                                                            "issue": "x"}), Defaults())
    stop = threading.Event()

    def tidy() -> None:
        while not stop.is_set():
            worker._tidy("b4")

    tidier = threading.Thread(target=tidy)
    tidier.start()
    try:
        for i in range(300):
            staging = worker.batch_dir("b4") / "runs" / f"r{i}"
            lease = worker._write_lease("b4", task, f"r{i}", node, staging)
            assert json.loads(lease.read_text())["run_id"] == f"r{i}"
            assert staging.is_dir()
            lease.unlink()
            staging.rmdir()
    finally:
        stop.set()
        tidier.join()
