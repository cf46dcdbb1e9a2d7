"""The executor with real tools, a real local sandbox and real processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.agent.events import Event, EventBus
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.agent.futures import FutureFailed, FutureNotDone, FutureState
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.base import ToolsConfig
from asyncfc_agent.tools.workspace import Workspace


class Env:
    def __init__(self, root: Path, ex: Executor, events: list[Event]) -> None:
        self.root, self.ex, self.events = root, ex, events

    def submit(self, tool: str, **args: Any) -> Any:
        return self.ex.submit(tool, args, call_id=f"c{len(self.ex.futures)}", turn=1)

    def kinds(self, fid: str) -> list[str]:
        return [e.kind for e in self.events if getattr(e, "future", None) == fid]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.txt").write_text("alpha\n")
    (root / "b.txt").write_text("beta\n")
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    async with LocalSandbox(root, snapshot_root=tmp_path / "snaps") as sandbox:
        ex = Executor(
            tools=load_tools(["read_file", "edit_file", "write_file", "run", "grep"]),
            sandbox=sandbox, workspace=Workspace(root), bus=bus,
            config=ExecutorConfig(max_concurrency=4, output_interval_s=0.01),
            tools_config=ToolsConfig(command_timeout_s=30),
        )
        async with ex:
            yield Env(root, ex, events)


async def test_ids_states_and_events(env: Env) -> None:
    f1 = env.submit("read_file", path="a.txt")
    f2 = env.submit("run", command="echo hi")
    assert (f1.id, f2.id) == ("f1", "f2")
    with pytest.raises(FutureNotDone):
        f2.value()
    await env.ex.wait([f1, f2])
    assert f1.state is FutureState.RESOLVED and "alpha" in f1.value().output
    assert f2.value().exit_code == 0 and "hi" in f2.value().output
    assert env.kinds("f2")[:2] == ["future_created", "future_started"]
    assert env.kinds("f2")[-1] == "future_resolved"
    assert f2.message.startswith("[f2 run: resolved, exit 0")


async def test_bad_arguments_fail_the_future_with_the_reason(env: Env) -> None:
    f = env.submit("read_file", path="a.txt", bogus=1)
    assert f.state is FutureState.FAILED and "bogus" in (f.error or "")
    with pytest.raises(FutureFailed):
        f.value()
    g = env.submit("read_file", path="../outside")
    await env.ex.wait([g])
    assert g.state is FutureState.FAILED and "outside" in (g.error or "")


async def test_reference_makes_a_dependent_future(env: Env) -> None:
    f1 = env.submit("run", command="sleep 0.3; printf b.txt")
    f2 = env.submit("read_file", path="${f1}")
    assert f2.deps == ["f1"]
    await asyncio.sleep(0.05)
    assert f2.state is FutureState.PENDING  # waits for f1
    await env.ex.wait([f2])
    assert f2.state is FutureState.RESOLVED
    assert "beta" in f2.value().output
    assert f2.started_s is not None and f1.ended_s is not None and f2.started_s >= f1.ended_s


async def test_failed_dependency_fails_the_dependent(env: Env) -> None:
    f1 = env.submit("read_file", path="missing.txt")
    f2 = env.submit("run", command="echo ${f1}")
    await env.ex.wait([f2])
    assert f1.state is FutureState.FAILED
    assert f2.state is FutureState.FAILED
    assert f2.error is not None and f2.error.startswith("dependency f1 failed")


async def test_unknown_reference_and_cycle_are_immediate_errors(env: Env) -> None:
    f1 = env.submit("run", command="echo ${f9}")
    assert f1.state is FutureState.FAILED and "unknown future f9" in (f1.error or "")
    f2 = env.submit("run", command="echo ${f2}")
    assert f2.state is FutureState.FAILED and "cycle" in (f2.error or "")
    assert "[f2 run: failed]" in f2.message


async def test_cancel_kills_the_process_group(env: Env) -> None:
    marker = env.root / "child-alive"
    f = env.submit("run", command=f"(sleep 1.5; touch {marker}) & sleep 30", timeout_s=60)
    await asyncio.sleep(0.3)
    assert f.state is FutureState.RUNNING
    assert env.ex.cancel(f.id, "cancelled by test")
    await env.ex.wait([f], timeout_s=5)
    assert f.state is FutureState.CANCELLED and f.error == "cancelled by test"
    await asyncio.sleep(1.8)
    assert not marker.exists(), "a child of the cancelled command lived on"
    assert env.ex.cancel(f.id) is False


async def test_timeout_kills_the_group_and_keeps_partial_output(env: Env) -> None:
    marker = env.root / "late"
    f = env.submit("run", command=f"echo started; (sleep 1.5; touch {marker}) & sleep 30", timeout_s=0.5)
    await env.ex.wait([f], timeout_s=10)
    assert f.state is FutureState.TIMED_OUT
    assert "started" in f.message and "timed out" in f.message
    await asyncio.sleep(1.6)
    assert not marker.exists()


async def test_conflicting_calls_keep_issue_order(env: Env) -> None:
    f1 = env.submit("edit_file", path="a.txt", old="alpha", new="ALPHA")
    f2 = env.submit("read_file", path="a.txt")
    f3 = env.submit("edit_file", path="a.txt", old="ALPHA", new="omega")
    await env.ex.wait([f1, f2, f3])
    assert [f.state for f in (f1, f2, f3)] == [FutureState.RESOLVED] * 3
    assert "ALPHA" in f2.value().output
    assert (env.root / "a.txt").read_text() == "omega\n"
    assert env.ex.workspace.revision == 2


async def test_non_conflicting_calls_run_in_parallel(env: Env) -> None:
    fs = [env.submit("run", command="sleep 0.5", readonly=True) for _ in range(3)]
    await asyncio.sleep(0.3)
    assert all(f.state is FutureState.RUNNING for f in fs)
    await env.ex.wait(fs)


async def test_concurrency_cap(env: Env) -> None:
    fs = [env.submit("run", command="sleep 0.4", readonly=True) for _ in range(6)]
    await asyncio.sleep(0.2)
    assert sum(f.state is FutureState.RUNNING for f in fs) == 4  # the cap of the fixture
    await env.ex.wait(fs)


async def test_snapshot_isolation_and_staleness(env: Env) -> None:
    reader = env.submit("run", command="sleep 0.6; cat a.txt", readonly=True)
    await asyncio.sleep(0.2)
    edit = env.submit("edit_file", path="a.txt", old="alpha", new="changed")
    await env.ex.wait([edit], timeout_s=0.3)  # the edit does not wait for the reader
    assert edit.state is FutureState.RESOLVED and reader.state is FutureState.RUNNING
    await env.ex.wait([reader])
    assert "alpha" in reader.value().output and "changed" not in reader.value().output
    assert reader.workspace_rev == 0 and env.ex.workspace.revision == 1
    assert "edited since: a.txt" in reader.message
    assert reader.stale_paths == ["a.txt"]


async def test_a_whole_workspace_writer_records_what_it_changed(env: Env) -> None:
    f = env.submit("run", command="echo new > c.txt && echo more >> b.txt")
    await env.ex.wait([f])
    assert env.ex.workspace.edits[-1].paths == ("b.txt", "c.txt")
    later = env.submit("read_file", path="c.txt")
    await env.ex.wait([later])
    assert later.workspace_rev == 1


async def test_wait_any_and_timeout(env: Env) -> None:
    slow = env.submit("run", command="sleep 1", readonly=True)
    fast = env.submit("run", command="true", readonly=True)
    assert await env.ex.wait([slow, fast], mode="any", timeout_s=5)
    assert fast.done.is_set() and not slow.done.is_set()
    assert not await env.ex.wait([slow], timeout_s=0.05)


async def test_output_streams_and_peek_shows_only_new_output(env: Env) -> None:
    f = env.submit("run", command="echo one; sleep 0.4; echo two; sleep 0.4", readonly=True)
    await asyncio.sleep(0.25)
    assert env.ex.peek(f).strip() == "one"
    await asyncio.sleep(0.4)
    assert env.ex.peek(f).strip() == "two"
    await env.ex.wait([f])
    assert any(e.kind == "future_output" for e in env.events)


async def test_the_event_loop_stays_responsive(env: Env) -> None:
    fs = [env.submit("run", command="sleep 0.3", readonly=True) for _ in range(8)]
    worst = 0.0
    while not all(f.done.is_set() for f in fs):
        t = time.monotonic()
        await asyncio.sleep(0.01)
        worst = max(worst, time.monotonic() - t - 0.01)
    assert worst < 0.5  # generous: only a blocking call in the executor would exceed it


async def test_exit_cancels_what_still_runs(tmp_path: Path) -> None:
    marker = tmp_path / "child-alive"
    async with LocalSandbox(tmp_path) as sandbox:
        ex = Executor(tools=load_tools(["run"]), sandbox=sandbox, workspace=Workspace(tmp_path),
                      bus=EventBus())
        async with ex:
            f = ex.submit("run", {"command": f"(sleep 0.8; touch {marker}) & sleep 30"},
                          call_id="c", turn=1)
            await asyncio.sleep(0.2)
            assert f.state is FutureState.RUNNING
        assert f.state is FutureState.CANCELLED
    await asyncio.sleep(1.0)
    assert not marker.exists(), "a process of the run outlived the executor"
