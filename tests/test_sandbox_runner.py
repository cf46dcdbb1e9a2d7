"""The in-container runner, run here as a plain subprocess speaking its protocol."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.sandboxes.docker_spec import RUNNER_HOST
from support import alive, read_pids, wait_until


class Runner:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-u", str(RUNNER_HOST)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.ready = self.next_event()

    def send(self, **request: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()

    def next_event(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the runner ended"
        event: dict[str, Any] = json.loads(line)
        return event

    def until_exit(self, command_id: int) -> tuple[str, int]:
        output = ""
        while True:
            event = self.next_event()
            if event.get("id") != command_id:
                continue
            if event["ev"] == "out":
                output += event["data"]
            elif event["ev"] == "exit":
                return output, int(event["code"])


@pytest.fixture
def runner() -> Iterator[Runner]:
    r = Runner()
    yield r
    r.proc.kill()
    r.proc.wait()
    for stream in (r.proc.stdin, r.proc.stdout):
        assert stream is not None
        stream.close()


def test_ready_names_the_shell(runner: Runner) -> None:
    assert runner.ready["ev"] == "ready"
    assert runner.ready["shell"] in ("/bin/bash", "/bin/sh")


def test_exec_streams_output_with_cwd_and_env(runner: Runner, tmp_path: Path) -> None:
    runner.send(op="exec", id=1, argv=["sh", "-c", "pwd; echo $GREETING; echo err >&2; exit 4"],
                cwd=str(tmp_path), env={"GREETING": "hello"})
    output, code = runner.until_exit(1)
    assert output.splitlines() == [str(tmp_path), "hello", "err"]
    assert code == 4


def test_spawn_failure_is_an_error_event(runner: Runner) -> None:
    runner.send(op="exec", id=5, argv=["/no/such/program"])
    event = runner.next_event()
    assert event["ev"] == "error" and event["id"] == 5
    assert "No such file" in event["msg"]


def test_kill_reaches_the_whole_tree(runner: Runner, tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    runner.send(op="exec", id=2, argv=["sh", "-c", f"sleep 300 & echo $! > {pidfile}; wait"])
    (background,) = read_pids(pidfile)
    assert alive(background)
    runner.send(op="kill", id=2, grace=0.2)
    _, code = runner.until_exit(2)
    assert code < 0  # ended by a signal
    wait_until(lambda: not alive(background), "the background sleep to end")


def test_sigterm_ignored_gets_sigkill_after_grace(runner: Runner) -> None:
    runner.send(op="exec", id=3, argv=["sh", "-c", "trap '' TERM; echo armed; sleep 300"])
    assert runner.next_event()["data"] == "armed\n"
    started = time.monotonic()
    runner.send(op="kill", id=3, grace=0.3)
    _, code = runner.until_exit(3)
    assert code == -9
    assert time.monotonic() - started >= 0.25


def test_end_of_stdin_kills_everything(runner: Runner, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    runner.send(op="exec", id=4, argv=["sh", "-c", f"echo $$ > {pidfile}; exec sleep 300"])
    (child,) = read_pids(pidfile)
    assert alive(child)
    assert runner.proc.stdin is not None
    runner.proc.stdin.close()
    assert runner.proc.wait(timeout=60) == 0
    wait_until(lambda: not alive(child), "the child to end")


def test_output_past_the_limit_is_drained_and_only_head_and_tail_sent(runner: Runner) -> None:
    # 100000 x, then a marker: 100004 bytes, of which the runner forwards 1000 + 1000
    runner.send(op="exec", id=6, argv=["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo END"],
                limit=1000)
    events: list[dict[str, Any]] = []
    while not events or events[-1]["ev"] != "exit":
        events.append(runner.next_event())
    sent = "".join(e["data"] for e in events if e["ev"] == "out")
    assert len(sent) == 2000
    assert sent.startswith("x" * 1000) and sent.endswith("x" * 996 + "END\n")
    assert [e["bytes"] for e in events if e["ev"] == "cut"] == [100004 - 2000]
    assert events[-1]["code"] == 0 and events[-1]["oom"] is False

