"""What the ``batch`` tests on real Ray share: a module's world (repositories, scripts,
a data directory), the command and its summary, and clusters of ``ray start`` nodes on
this machine."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from support import git

TIMEOUT_S = 300


def script_running(command: str) -> dict[str, Any]:
    """A script whose task runs ``command`` and waits for it."""
    return {"turns": [{"tool_calls": [{"name": "run", "args": {"command": command, "timeout_s": 600}}]},
                      {"tool_calls": [{"name": "await_futures", "args": {}}]},
                      {"text": "done"}]}


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


def settle(proc: subprocess.Popen[str]) -> None:
    """A ``batch`` started by a test, ended however the test went: killed if it still runs,
    and its pipes closed (left to the collector, they fail whichever test runs then)."""
    if proc.poll() is None:
        proc.kill()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    proc.wait()


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
    # workers at normal priority, as the README advises for machines that do other work
    # (Ray's default is nice 15)
    env = {**world["env"], "RAY_worker_niceness": "0"}
    started: list[Node] = []
    try:
        head = Node(["--head", f"--port={port}", f"--num-cpus={cpus}", "--include-dashboard=false",
                     f"--temp-dir={temp}"], env, world["root"] / f"head-{port}.log")
        started.append(head)
        # the address the head announces (its node's IP), as a user would copy it
        match = re.search(r"ray start --address='([^']+)'", head.log.read_text())
        assert match, head.log.read_text()
        for n in range(1, nodes):
            started.append(Node([f"--address={match[1]}", f"--num-cpus={cpus}"], env,
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
