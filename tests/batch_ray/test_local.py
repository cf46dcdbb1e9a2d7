"""``batch`` on the embedded local Ray instance: the real CLI in a subprocess, real git
repositories, the scripted model, the local sandbox."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.util import find_spec
from typing import Any

import pytest
from batch_support import (
    TIMEOUT_S,
    assert_clean,
    assert_solved,
    batch,
    most_at_once,
    six_tasks,
    summary,
)
from support import FIX_SCRIPT, write_script

pytestmark = [
    pytest.mark.skipif(find_spec("ray") is None,
                       reason="Ray is not installed: pip install 'asyncfc-agent[batch]'"),
    pytest.mark.slow,
    pytest.mark.timeout(360),
]



def test_six_tasks_on_a_local_instance_with_three_workers(world: dict[str, Any]) -> None:
    out = world["root"] / "out-local"
    # a task goes on once another has started too: one at a time, the first would time out
    started = world["root"] / "started-local"
    started.mkdir()
    barrier = (f"echo nice=$(nice); touch {started}/$$; "
               f"while [ $(ls {started} | wc -l) -lt 2 ]; do sleep 0.05; done")
    fix = {"turns": [{"tool_calls": [{"name": "run", "args": {"command": barrier, "timeout_s": 120}}]},
                     *FIX_SCRIPT["turns"]]}
    script = write_script(world["root"], fix, "two-at-once.yaml")
    proc = batch(world, six_tasks(world), out, "--workers", "3", "--model", f"scripted/{script}")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "on a local Ray instance: 1 node" in proc.stderr
    lines = summary(out)
    assert sorted(lines) == [f"t{i}" for i in range(6)]
    a, b = world["repos"]
    for i in range(6):
        line = lines[f"t{i}"]
        assert (line["status"], line["exit_reason"], line["error"]) == ("solved", "submitted", None)
        assert line["patch"] == str(out / f"t{i}" / "patch.diff") and line["wall_s"] > 0
        assert line["branch"] == f"asyncfc/batch-t{i}" and line["node"]["node_id"]
        assert_solved(out, f"t{i}", a if i % 2 else b)
        events = (json.loads(e) for e in (out / f"t{i}" / "trajectory.jsonl").read_text().splitlines())
        barrier = next(e["result"] for e in events if e["kind"] == "future_resolved")
        assert barrier.startswith("[f1 run: resolved, exit 0"), barrier  # it met another task
        # at the priority of the batch, not below everything else on the machine (Ray's nice 15)
        assert f"nice={os.nice(0)}" in barrier, barrier
    assert 1 < most_at_once(proc.stdout) <= 3
    assert_clean(world)



def test_workers_beyond_the_cpus_run_at_once_with_reservations_made_to_fit(world: dict[str, Any]) -> None:
    # agent tasks mostly wait on the model: --workers N runs N at once even past the CPUs
    n = min((os.cpu_count() or 2) + 2, 6)
    started = world["root"] / "started-fit"
    started.mkdir()
    barrier = (f"touch {started}/$$; while [ $(ls {started} | wc -l) -lt {n} ]; do sleep 0.05; done")
    fix = {"turns": [{"tool_calls": [{"name": "run", "args": {"command": barrier, "timeout_s": 200}}]},
                     *FIX_SCRIPT["turns"]]}
    script = write_script(world["root"], fix, "all-at-once.yaml")
    tasks = world["root"] / "fit.jsonl"
    a, _ = world["repos"]
    tasks.write_text("".join(json.dumps({"id": f"w{i}", "repo": str(a), "issue": "Fix add()"}) + "\n"
                             for i in range(n)))
    out = world["root"] / "out-fit"
    cmd = [sys.executable, "-m", "asyncfc_agent.cli", "batch", str(tasks), "--out", str(out),
           "--model", f"scripted/{script}", "--sandbox", "local", "--plain", "--workers", str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=world["env"], timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    cpus = os.cpu_count() or 2
    share = re.search(r"each task reserves ([\d.]+) CPU", proc.stderr)
    assert share is not None, proc.stderr
    assert float(share.group(1)) * n <= cpus + 1e-6, proc.stderr  # all n fit on this node
    lines = summary(out)
    assert all(line["status"] == "solved" for line in lines.values()), lines
    for i in range(n):
        events = (json.loads(e) for e in (out / f"w{i}" / "trajectory.jsonl").read_text().splitlines())
        barrier = next(e["result"] for e in events if e["kind"] == "future_resolved")
        assert barrier.startswith("[f1 run: resolved, exit 0"), barrier  # it met all the others
    assert most_at_once(proc.stdout) == n
    assert_clean(world)
