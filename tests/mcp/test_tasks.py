"""MCP tasks as futures: a real server (a process over stdio) that runs tool calls as
tasks, polled to their end, cancelled on the server with the future."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.agent.futures import FutureState
from asyncfc_agent.mcp_servers.config import McpServerConfig
from mcp_support import Run, open_run
from support import until

TASKS_SERVER = Path(__file__).parent / "servers" / "tasks_server.py"


def tasks_config(name: str, markers: Path, *, tasks: bool = True, **extra: Any) -> McpServerConfig:
    env = {"MARKERS": str(markers), **({} if tasks else {"NO_TASKS": "1"})}
    return McpServerConfig(name=name, origin="test", command=sys.executable,
                           args=[str(TASKS_SERVER)], env=env, **extra)


@pytest.fixture
async def run(tmp_path: Path, markers: Path) -> AsyncIterator[Run]:
    async for r in open_run(tmp_path, {"k": tasks_config("k", markers)}):
        yield r


async def test_a_task_is_a_future_that_resolves_with_its_result_and_streams_its_status(
        run: Run, markers: Path) -> None:
    conn = run.servers.connections["k"]
    assert conn.runs_as_task("build") and conn.runs_as_task("wait")
    assert not conn.runs_as_task("echo")  # the tool does not say it runs as a task
    f = run.submit("mcp__k__build", steps=6, label="b", step_s=0.3)
    await until(lambda: "[task working] step " in f.output_text(), "a status message as output")
    assert not f.done.is_set()  # the call returned a task: the future runs on
    await run.ex.wait([f])
    assert f.state is FutureState.RESOLVED, f.error
    assert f.value().output == "b: built in 6 steps" and f.value().exit_code == 0
    assert (markers / "call-build-task").exists() and not (markers / "call-build-plain").exists()
    steps = [int(n) for n in re.findall(r"\[task working\] step (\d) of 6", f.output_text())]
    assert steps and steps == sorted(set(steps))  # each change once, in order
    assert "[task completed]" in f.output_text()


async def test_cancelling_the_future_cancels_the_task_on_the_server(run: Run, markers: Path) -> None:
    f = run.submit("mcp__k__wait", label="w")
    await until(lambda: "[task working] waiting" in f.output_text(), "the task to run")
    assert run.ex.cancel(f.id)
    await run.ex.wait([f])
    assert f.state is FutureState.CANCELLED
    await until(lambda: (markers / "cancelled-w").exists(), "tasks/cancel to reach the server")
    g = run.submit("mcp__k__echo", text="still here")  # the server goes on
    await run.ex.wait([g])
    assert g.value().output == "still here"


async def test_a_failed_task_fails_its_future_with_the_servers_message(run: Run) -> None:
    broken = run.submit("mcp__k__broken")
    dropped = run.submit("mcp__k__dropped")
    await run.ex.wait([broken, dropped])
    assert broken.state is FutureState.FAILED
    assert "the task failed: the build broke: missing header foo.h" in (broken.error or "")
    assert dropped.state is FutureState.FAILED
    assert "the server cancelled the task: the server is shutting down" in (dropped.error or "")
    later = run.submit("mcp__k__build", steps=1, label="after")  # the run goes on
    await run.ex.wait([later])
    assert later.value().output == "after: built in 1 steps"


async def test_a_task_without_status_changes_for_tool_timeout_s_is_cancelled(
        tmp_path: Path, markers: Path) -> None:
    cfg = tasks_config("k", markers, tool_timeout_s=1.0)
    async for run in open_run(tmp_path, {"k": cfg}):
        build = run.submit("mcp__k__build", steps=6, label="s", step_s=0.4)  # changes: runs on
        wait = run.submit("mcp__k__wait", label="h")
        await run.ex.wait([build, wait])
        assert build.state is FutureState.RESOLVED, build.error
        assert wait.state is FutureState.TIMED_OUT
        await until(lambda: (markers / "cancelled-h").exists(), "tasks/cancel on the server")


async def test_a_server_without_tasks_gets_plain_calls(tmp_path: Path, markers: Path) -> None:
    async for run in open_run(tmp_path, {"p": tasks_config("p", markers, tasks=False)}):
        conn = run.servers.connections["p"]
        assert not conn.runs_as_task("build")  # the tool allows tasks, the server has none
        f = run.submit("mcp__p__build", steps=2, label="plain", step_s=0.05)
        await run.ex.wait([f])
        assert f.state is FutureState.RESOLVED, f.error
        assert f.value().output == "plain: built in 2 steps"
        assert (markers / "call-build-plain").exists() and not (markers / "call-build-task").exists()
        assert "[task" not in f.output_text()
