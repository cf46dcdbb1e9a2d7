"""``batch`` on real Ray: the embedded local instance, a head node started for these tests,
and a two-node cluster on this machine. The real CLI in a subprocess, real git
repositories, the scripted model, the local sandbox."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from support import FIX_SCRIPT, git, make_repo, write_script

pytestmark = [
    pytest.mark.skipif(find_spec("ray") is None,
                       reason="Ray is not installed: pip install 'asyncfc-agent[batch]'"),
    pytest.mark.slow,
    pytest.mark.timeout(360),
]

TIMEOUT_S = 300


def script_running(command: str) -> dict[str, Any]:
    """A script whose task runs ``command`` and waits for it."""
    return {"turns": [{"tool_calls": [{"name": "run", "args": {"command": command, "timeout_s": 600}}]},
                      {"tool_calls": [{"name": "await_futures", "args": {}}]},
                      {"text": "done"}]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two repositories, the scripts, a data directory and the environment of every process."""
    root = tmp_path_factory.mktemp("batch")
    (root / "a").mkdir()
    (root / "b").mkdir()
    token = root / "ray-token"
    token.write_text(secrets.token_hex(32))
    env = {
        **os.environ,
        "ASYNCFC_HOME": str(root / "home"),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
        # Ray's own token, kept with the tests rather than in the home folder
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
    }
    env.pop("RAY_ADDRESS", None)
    return {
        "root": root, "env": env, "home": root / "home",
        "repos": [make_repo(root / "a"), make_repo(root / "b")],
        "fix": write_script(root, FIX_SCRIPT, "fix.yaml"),
    }


def six_tasks(world: dict[str, Any], name: str = "tasks.jsonl") -> Path:
    path: Path = world["root"] / name
    a, b = world["repos"]
    lines = [{"id": f"t{i}", "repo": str(a if i % 2 else b), "issue": "Fix add()"} for i in range(6)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def batch(world: dict[str, Any], tasks: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(batch_cmd(world, tasks, out, *extra), capture_output=True, text=True,
                          env=world["env"], timeout=TIMEOUT_S)


def batch_cmd(world: dict[str, Any], tasks: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "asyncfc_agent.cli", "batch", str(tasks), "--out", str(out),
            "--model", f"scripted/{world['fix']}", "--sandbox", "local", "--plain",
            "--task-cpus", "0.5", "--task-memory", "256m", *extra]


def summary(out: Path) -> dict[str, dict[str, Any]]:
    lines = [json.loads(x) for x in (out / "summary.jsonl").read_text().splitlines()]
    by_id = {x["id"]: x for x in lines}
    assert len(by_id) == len(lines), "one line per task"
    return by_id


def most_at_once(log: str) -> int:
    """The most tasks running at once, from the plain log's start and end lines."""
    running = peak = 0
    for line in log.splitlines():
        if ": started on " in line:
            running += 1
            peak = max(peak, running)
        elif "running]" in line:
            running -= 1
    return peak


def assert_clean(world: dict[str, Any]) -> None:
    """No worktree, staging folder or lease left behind."""
    home: Path = world["home"]
    assert not list((home / "worktrees").iterdir())
    assert not (home / "batch").exists() or not list((home / "batch").iterdir())
    for repo in world["repos"]:
        assert len(git(repo, "worktree", "list").splitlines()) == 1


def assert_solved(out: Path, task_id: str, repo: Path) -> None:
    result = json.loads((out / task_id / "result.json").read_text())
    assert result["status"] == "solved" and result["repo"] == str(repo)
    assert "+    return a + b" in (out / task_id / "patch.diff").read_text()
    assert (out / task_id / "trajectory.jsonl").read_text().count('"kind": "run_finished"') == 1
    assert git(repo, "rev-parse", "--verify", f"asyncfc/batch-{task_id}").strip() == result["commit"]


def test_six_tasks_on_a_local_instance_with_three_workers(world: dict[str, Any]) -> None:
    out = world["root"] / "out-local"
    # a task goes on once another has started too: one at a time, the first would time out
    started = world["root"] / "started-local"
    started.mkdir()
    barrier = (f"touch {started}/$$; while [ $(ls {started} | wc -l) -lt 2 ]; do sleep 0.05; done")
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

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    """``ray start --block``: the node lives as long as this process; SIGTERM stops all of it."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as f:
            self.proc = subprocess.Popen(["ray", "start", "--block", "--disable-usage-stats", *args],
                                         env=env, stdout=f, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in log.read_text():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)

    def kill(self) -> None:
        """The node dies at once, as a machine that loses power (SIGTERM would drain it)."""
        tree, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
            todo.extend(int(c) for c in children.stdout.split())
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


#: The nodes of each running cluster, by address, head first.
cluster_nodes: dict[str, list[Node]] = {}


@contextlib.contextmanager
def cluster(world: dict[str, Any], *, nodes: int, cpus: int) -> Iterator[str]:
    """A Ray cluster of ``nodes`` nodes on this machine; its address. Stopped on the way out,
    its own processes only (``ray stop`` would stop every Ray instance of the machine)."""
    temp = Path(tempfile.mkdtemp(prefix="afr-", dir="/tmp"))  # Ray's socket paths must be short
    port = free_port()
    started: list[Node] = []
    try:
        head = Node(["--head", f"--port={port}", f"--num-cpus={cpus}", "--include-dashboard=false",
                     f"--temp-dir={temp}"], world["env"], world["root"] / f"head-{port}.log")
        started.append(head)
        # the address the head announces (its node's IP), as a user would copy it
        match = re.search(r"ray start --address='([^']+)'", head.log.read_text())
        assert match, head.log.read_text()
        for n in range(1, nodes):
            started.append(Node([f"--address={match[1]}", f"--num-cpus={cpus}"], world["env"],
                                world["root"] / f"node-{port}-{n}.log"))
        cluster_nodes[match[1]] = started
        yield match[1]
    finally:
        for node in reversed(started):
            node.stop()
        left = subprocess.run(["pgrep", "-f", str(temp)], capture_output=True, text=True).stdout.split()
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def node_ids(world: dict[str, Any], address: str) -> set[str]:
    return set(alive_nodes(world, address))


def head_and_other(world: dict[str, Any], address: str) -> tuple[str, str]:
    nodes = alive_nodes(world, address)
    (head,) = [n for n, is_head in nodes.items() if is_head]
    (other,) = [n for n, is_head in nodes.items() if not is_head]
    return head, other


def alive_nodes(world: dict[str, Any], address: str) -> dict[str, bool]:
    """The cluster's live nodes, and whether each is the head."""
    code = (f"import json, ray; ray.init(address={address!r}, log_to_driver=False); "
            "print(json.dumps({n['NodeID']: 'node:__internal_head__' in n['Resources'] "
            "for n in ray.nodes() if n['Alive']}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=world["env"], timeout=120, check=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


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
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr + stdout
    assert "interrupted: cancelling the running tasks" in stdout
    lines = summary(out)
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
            if proc.poll() is None:
                proc.kill()
    log.append(stdout)
    assert proc.returncode == 1, stderr + "".join(log)  # open-loop scripts: ran, not solved
    starts = [line.split()[2].rstrip(":") for line in "".join(log).splitlines() if ": started on " in line]
    lines = summary(out)
    told = f"{stderr}{''.join(log)}\n{lines}"
    assert sorted(starts) == sorted(["l0", "l1", lost]), told  # the lost one started again
    assert lines[lost]["status"] == "unsolved" and lines[lost]["node"]["node_id"] == head_id, told
    assert_clean(world)
