"""``batch`` on clusters of ``ray start`` nodes on this machine: a head node, two nodes, a
node lost under its task. The real CLI in a subprocess, the scripted model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from batch_support import (
    TIMEOUT_S,
    assert_clean,
    assert_solved,
    batch,
    batch_cmd,
    cluster,
    cluster_nodes,
    head_and_other,
    node_ids,
    script_running,
    settle,
    six_tasks,
    summary,
)
from support import write_script

pytestmark = [
    pytest.mark.skipif(find_spec("ray") is None,
                       reason="Ray is not installed: pip install 'asyncfc-agent[batch]'"),
    pytest.mark.slow,
    pytest.mark.timeout(360),
]



class TestOnAHead:
    """Tests that share one head node (Ray takes seconds to start)."""

    @pytest.fixture(scope="class")
    def head(self, world: dict[str, Any]) -> Iterator[str]:
        with cluster(world, nodes=1, cpus=3) as address:
            yield address

    def test_failures_are_recorded_and_resume_reruns_only_them(self, world: dict[str, Any], head: str) -> None:
        root: Path = world["root"]
        attempts = root / "attempts"
        crash = write_script(root, script_running(f"echo x >> {attempts}; kill -9 $PPID"), "crash.yaml")
        slow = write_script(root, script_running("sleep 41.25"), "slow.yaml")
        a, b = world["repos"]
        tasks = root / "failing.jsonl"
        tasks.write_text("".join(json.dumps(x) + "\n" for x in [
            {"id": "ok-a", "repo": str(a), "issue": "Fix add()"},
            {"id": "crash", "repo": str(a), "issue": "Fix add()", "model": f"scripted/{crash}"},
            {"id": "slow", "repo": str(b), "issue": "Fix add()", "model": f"scripted/{slow}", "timeout": 2},
            {"id": "bad-ref", "repo": str(b), "ref": "no-such-ref", "issue": "Fix add()"},
            {"id": "ok-b", "repo": str(b), "issue": "Fix add()"},
        ]))
        out = root / "out-failing"
        proc = batch(world, tasks, out, "--ray-address", head)
        assert proc.returncode == 3, proc.stderr + proc.stdout
        assert "on the Ray cluster at" in proc.stderr
        lines = summary(out)
        assert {k: (v["status"], v["exit_reason"]) for k, v in lines.items()} == {
            "ok-a": ("solved", "submitted"), "ok-b": ("solved", "submitted"),
            "crash": ("failed", "worker_died"), "slow": ("failed", "timeout"),
            "bad-ref": ("failed", "repository_error"),
        }
        assert lines["crash"]["error"] == "the worker process died (tried twice)"
        assert attempts.read_text() == "x\nx\n"  # a lost worker is retried once
        assert lines["bad-ref"]["error"] == f"{b} has no ref 'no-such-ref'"
        assert lines["crash"]["node"]["node_id"] == lines["ok-a"]["node"]["node_id"]
        assert_solved(out, "ok-a", a)
        assert_solved(out, "ok-b", b)
        assert not subprocess.run(["pgrep", "-f", "sleep 41.25"], capture_output=True).stdout
        assert_clean(world)

        before = {k: v["run_id"] for k, v in lines.items()}
        again = batch(world, tasks, out, "--ray-address", head, "--resume")
        assert again.returncode == 3, again.stderr + again.stdout
        assert "batch: 3 tasks on the Ray cluster" in again.stderr
        assert "(2 skipped: their results are kept)" in again.stderr
        started = sorted(line.split()[2].rstrip(":") for line in again.stdout.splitlines()
                         if ": started on " in line)
        assert started == ["bad-ref", "crash", "crash", "slow"]  # the crash twice: its retry
        after = summary(out)
        assert sorted(after) == sorted(before)
        assert {k for k in before if after[k]["run_id"] != before[k]} == {"crash", "slow", "bad-ref"}
        assert attempts.read_text() == "x\n" * 4
        assert_clean(world)

    def test_ctrl_c_cancels_the_running_tasks_and_cleans_up(self, world: dict[str, Any], head: str) -> None:
        lines = interrupt_two_of_three(world, head, "sleep 43.75", "local")
        assert {(x["status"], x["exit_reason"]) for x in lines.values()} == {("cancelled", "interrupted")}

    @pytest.mark.docker
    def test_ctrl_c_removes_the_containers_of_the_cancelled_tasks(
        self, world: dict[str, Any], head: str, docker_image: str
    ) -> None:
        lines = interrupt_two_of_three(world, head, "sleep 47.5", "docker")
        for line in lines.values():
            assert line["status"] == "cancelled" and line["run_id"]
            label = f"label=asyncfc-agent.session={line['run_id']}"
            assert not subprocess.run(["docker", "ps", "-aq", "--filter", label], capture_output=True,
                                      text=True, check=True).stdout.strip()

    def test_the_driver_cancels_a_run_that_outlives_its_limit(self, world: dict[str, Any], head: str) -> None:
        # with no grace after the limit, the driver's cancel comes before the run's own limit
        # (which starts with its agent loop) could end it. A process of its own: Ray reads
        # its authentication settings once per process.
        root: Path = world["root"]
        slow = write_script(root, script_running("sleep 45.5"), "outlives.yaml")
        tasks = root / "outlives.jsonl"
        tasks.write_text(json.dumps({"id": "late", "repo": str(world["repos"][0]), "issue": "Wait",
                                     "timeout": 1}) + "\n")
        out = root / "out-outlives"
        driver = f"""
import io, sys
from pathlib import Path
from asyncfc_agent.batch.engine import Scheduler, connect
from asyncfc_agent.batch.outputs import OutDir
from asyncfc_agent.cli.batch_progress import BatchState, PlainProgress
from asyncfc_agent.batch.tasks import Defaults, load_tasks

(task,) = load_tasks(Path({str(tasks)!r}), Defaults(model={f"scripted/{slow}"!r}, sandbox="local"))
out = OutDir(Path({str(out)!r}))
out.start_summary([])
with connect({head!r}) as where:
    assert not where.local
    Scheduler([task], "b-late", lambda t, r, f, w: out.record(t, "b-late", r, f, w),
              PlainProgress(BatchState(total=1)), timeout_grace_s=0, cancel_grace_s=10).run()
"""
        proc = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True,
                              env=world["env"], timeout=TIMEOUT_S)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        line = summary(out)["late"]
        assert (line["status"], line["exit_reason"]) == ("failed", "timeout")
        assert line["error"] == "the run did not end within its limit of 1 s and was cancelled"
        assert not subprocess.run(["pgrep", "-f", "sleep 45.5"], capture_output=True).stdout
        assert_clean(world)

def interrupt_two_of_three(world: dict[str, Any], address: str, command: str, sandbox: str) -> dict[str, Any]:
    """Three tasks running ``command``, two at a time; Ctrl-C once both run. The summary."""
    root: Path = world["root"]
    slow = write_script(root, script_running(command), f"{sandbox}-slow.yaml")
    a, b = world["repos"]
    tasks = root / f"interrupted-{sandbox}.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"s{i}", "repo": str(r), "issue": "Wait"}) + "\n"
                             for i, r in enumerate([a, b, a])))
    out = root / f"out-interrupted-{sandbox}"
    cmd = [*batch_cmd(world, tasks, out, "--ray-address", address, "--workers", "2"),
           "--model", f"scripted/{slow}", "--sandbox", sandbox]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=world["env"])
    try:
        deadline = time.monotonic() + 120
        while len(subprocess.run(["pgrep", "-f", command], capture_output=True).stdout.split()) < 2:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.25)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        settle(proc)
    assert proc.returncode == 130, stderr + stdout
    assert "interrupted: cancelling the running tasks" in stdout
    lines: dict[str, Any] = summary(out)
    assert sorted(lines) == ["s0", "s1"]  # s2 never started: no record, a resume runs it
    assert not (out / "s2").exists()
    assert not subprocess.run(["pgrep", "-f", command], capture_output=True).stdout
    assert_clean(world)
    return lines


def test_a_two_node_cluster_spreads_the_tasks_over_both_nodes(world: dict[str, Any]) -> None:
    with cluster(world, nodes=2, cpus=1) as address:
        nodes = node_ids(world, address)
        assert len(nodes) == 2
        out = world["root"] / "out-cluster"
        proc = batch(world, six_tasks(world, "cluster.jsonl"), out, "--ray-address", address)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "2 nodes, 2 CPUs" in proc.stderr
    lines = summary(out)
    assert sorted(lines) == [f"t{i}" for i in range(6)]
    assert all(x["status"] == "solved" for x in lines.values())
    used = {x["node"]["node_id"] for x in lines.values()}
    assert used == nodes  # every task says where it ran, and both nodes ran some
    assert_clean(world)


def test_a_task_whose_node_is_lost_is_retried_on_another(world: dict[str, Any]) -> None:
    root: Path = world["root"]
    script = write_script(root, script_running("sleep 12.75"), "lost.yaml")
    a, b = world["repos"]
    tasks = root / "lost.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"l{i}", "repo": str(r), "issue": "Wait"}) + "\n"
                             for i, r in enumerate([a, b])))
    out = root / "out-lost"
    with cluster(world, nodes=2, cpus=1) as address:
        head_id, other_id = head_and_other(world, address)
        cmd = [*batch_cmd(world, tasks, out, "--ray-address", address), "--model", f"scripted/{script}"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=world["env"])
        try:
            assert proc.stdout is not None
            where: dict[str, str] = {}
            log = []
            while len(where) < 2:
                line = proc.stdout.readline()
                assert line, proc.stderr.read() if proc.stderr else ""
                log.append(line)
                if ": started on " in line:
                    where[line.split()[2].rstrip(":")] = line.split(" started on ")[1].split()[0]
            (lost,) = [task for task, node in where.items() if other_id.startswith(node)]
            deadline = time.monotonic() + 120
            while len(subprocess.run(["pgrep", "-f", "sleep 12.75"], capture_output=True).stdout.split()) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.25)
            cluster_nodes[address][-1].kill()  # the node goes away under its task
            stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
        finally:
            settle(proc)
    log.append(stdout)
    assert proc.returncode == 1, stderr + "".join(log)  # open-loop scripts: ran, not solved
    starts = [line.split()[2].rstrip(":") for line in "".join(log).splitlines() if ": started on " in line]
    lines = summary(out)
    told = f"{stderr}{''.join(log)}\n{lines}"
    assert sorted(starts) == sorted(["l0", "l1", lost]), told  # the lost one started again
    assert lines[lost]["status"] == "unsolved" and lines[lost]["node"]["node_id"] == head_id, told
    assert_clean(world)
