"""Typed partial results through the agent: a real pytest run in the local sandbox, the
scripted model through litellm, and await_futures(until="first_failure") waking the model
while the suite still runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncfc_agent.agent.events import Event, EventBus, FutureProgress, RequestSent
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.agent.futures import Future, FutureState
from asyncfc_agent.agent.loop import Agent, AgentConfig, Finished, Submitted
from asyncfc_agent.agent.model import ModelClient, ModelConfig
from asyncfc_agent.agent.partial import PartialResults
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.base import Effects
from asyncfc_agent.tools.outcomes import Failure, Outcomes
from asyncfc_agent.tools.workspace import Workspace

#: The first test fails at once; the second waits for a file the test writes only once
#: the model has been woken by that failure and has gone on.
SUITE = '''\
import pathlib
import time

RELEASE = pathlib.Path({release!r})


def test_a_fails_first():
    assert 1 + 1 == 3, "arithmetic"


def test_b_waits_for_the_model_to_go_on():
    deadline = time.monotonic() + 60
    while not RELEASE.exists():
        assert time.monotonic() < deadline, "the model was not woken at the first failure"
        time.sleep(0.02)


def test_c_passes():
    pass
'''


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


async def run_gated(tmp_path: Path, turns: list[dict[str, Any]], release_at: int) -> tuple[Agent, list[Event]]:
    """The scripted model's turns on the gated suite; the suite may end once the model has
    sent request ``release_at``."""
    repo = tmp_path / "repo"
    repo.mkdir()
    release = tmp_path / "release"
    (repo / "pytest.ini").write_text("[pytest]\n")
    (repo / "test_gate.py").write_text(SUITE.format(release=str(release)))
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump({"profile": {"ttft_s": 0.0, "tokens_per_s": 0}, "turns": turns}))
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)

    def go_on(event: Event) -> None:
        if isinstance(event, RequestSent) and event.turn == release_at:
            release.write_text("go\n")

    bus.subscribe(go_on)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # a tiny suite: no plugins
    async with LocalSandbox(repo, env=env, snapshot_root=tmp_path / "snaps") as box:
        executor = Executor(tools=load_tools(["run_tests"]), sandbox=box, workspace=Workspace(repo),
                            bus=bus, config=ExecutorConfig(output_interval_s=0.01))
        async with executor:
            model = ModelClient(ModelConfig(model=f"scripted/{script}", max_retries=0))
            agent = Agent(model=model, executor=executor, bus=bus, config=AgentConfig())
            with pytest.raises(Finished) as info:
                await agent.run("fix the tests")
    assert isinstance(info.value, Submitted)
    return agent, events


async def test_await_until_first_failure_wakes_the_model_while_the_suite_runs(tmp_path: Path) -> None:
    turns: list[dict[str, Any]] = [
        {"tool_calls": [call("run_tests")]},
        {"tool_calls": [call("await_futures", ids=["f1"], until="first_failure")]},
        {"tool_calls": [call("await_futures", ids=["f1"], timeout_s=0)]},
        {"tool_calls": [call("await_futures", ids=["f1"])]},
        {"text": "done"},
    ]
    # the model has read the wake-up and the peek: the suite may end now
    agent, events = await run_gated(tmp_path, turns, release_at=4)
    results = [m["content"] for m in agent.messages if m["role"] == "tool"]
    handle, woken, peek, final = results
    assert json.loads(handle)["status"] == "running"
    # woken at the failure, while the suite still ran
    head, *rest = woken.splitlines()
    assert head.startswith("[f1 run_tests: running, ") and head.endswith("; tests: 1 failed (1/3)]")
    assert rest[:3] == ["new failures:", "FAILED test_gate.py::test_a_fails_first (test_gate.py:8)",
                        "  AssertionError: arithmetic"]
    # a peek shows the counts, and no failure twice
    assert peek.startswith("[f1 run_tests: running, ") and "tests: 1 failed (1/3)]" in peek
    assert "new failures" not in peek
    # the result: failures first
    lines = final.splitlines()
    assert lines[0].startswith("[f1 run_tests: resolved, exit 1, ")
    assert lines[1:3] == ["[tests (pytest): 1 failed, 2 passed]",
                          "FAILED test_gate.py::test_a_fails_first (test_gate.py:8)"]
    progress = [e for e in events if isinstance(e, FutureProgress)]
    assert progress[-1].final and (progress[-1].passed, progress[-1].failed) == (2, 1)
    failures = [f for e in progress for f in e.failures]
    assert [f["test"] for f in failures] == ["test_gate.py::test_a_fails_first"]  # sent once
    kinds = [e.kind for e in events]
    assert kinds.index("future_progress") < kinds.index("future_resolved")
    json.dumps(progress[0].to_dict())  # --json prints it as it is


async def test_a_call_that_joins_a_running_suite_is_woken_by_its_failures(tmp_path: Path) -> None:
    turns: list[dict[str, Any]] = [
        {"tool_calls": [call("run_tests")]},
        {"tool_calls": [call("run_tests")]},  # the same call on the same files: it joins f1
        {"tool_calls": [call("await_futures", ids=["f2"], until="first_failure")]},
        {"tool_calls": [call("await_futures", ids=["f1", "f2"])]},
        {"text": "done"},
    ]
    agent, events = await run_gated(tmp_path, turns, release_at=4)
    results = [m["content"] for m in agent.messages if m["role"] == "tool"]
    woken = results[2]
    assert woken.startswith("[f2 run_tests: running, ") and "; tests: 1 failed (1/3)]" in woken
    assert "FAILED test_gate.py::test_a_fails_first (test_gate.py:8)" in woken
    assert any(e.kind == "future_joined" and getattr(e, "future", "") == "f2" for e in events)
    joined = [e for e in events if isinstance(e, FutureProgress) and e.future == "f2"]
    assert joined and joined[-1].final and (joined[-1].passed, joined[-1].failed) == (2, 1)


async def test_a_suite_stopped_midway_keeps_its_counts_and_failures(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pytest.ini").write_text("[pytest]\n")
    # never released: the suite runs until it is cancelled
    (repo / "test_gate.py").write_text(SUITE.format(release=str(tmp_path / "never")))
    bus = EventBus()
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    async with LocalSandbox(repo, env=env, snapshot_root=tmp_path / "snaps") as box:
        executor = Executor(tools=load_tools(["run_tests"]), sandbox=box, workspace=Workspace(repo),
                            bus=bus, config=ExecutorConfig(output_interval_s=0.01))

        def stop_at_the_failure(event: Event) -> None:
            if isinstance(event, FutureProgress) and event.failures:
                executor.cancel(event.future, "cancelled by the model")

        bus.subscribe(stop_at_the_failure)
        async with executor:
            future = executor.submit("run_tests", {}, call_id="c1", turn=1)
            await executor.wait([future], timeout_s=120)
    assert future.state is FutureState.CANCELLED
    lines = future.message.splitlines()
    assert lines[1:4] == ["cancelled by the model", "[tests (pytest): 1 failed (1/3)]",
                          "FAILED test_gate.py::test_a_fails_first (test_gate.py:8)"]


def a_future(fid: str = "f1") -> Future:
    return Future(id=fid, tool="run_tests", args={}, deps=[], effects=Effects.snapshot_reader(),
                  turn=1, call_id="c1", created_s=0.0, seq=1)


async def test_progress_events_are_few_but_a_failure_goes_out_and_wakes_at_once() -> None:
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    wakes: list[int] = []
    partial = PartialResults(bus, lambda: wakes.append(1), interval_s=30)
    future = a_future()
    outcomes = Outcomes("pytest")
    for _ in range(50):
        outcomes.count("passed")
        partial.update(future, outcomes.copy())
    assert events == [] and wakes == []  # batched: the next event is due in 30 s
    outcomes.fail(Failure.make("t.py::test_x", "boom", "t.py:3"))
    partial.update(future, outcomes.copy())
    (event,) = events
    assert isinstance(event, FutureProgress)
    assert (event.passed, event.failed, event.failures) == (50, 1, [
        {"test": "t.py::test_x", "message": "boom", "location": "t.py:3", "kind": "failed"}])
    assert wakes == [1]
    outcomes.count("passed")
    partial.update(future, outcomes.copy())
    partial.close(future)  # the end: what is left goes out, without the failure again
    assert len(events) == 2 and isinstance(events[1], FutureProgress)
    assert (events[1].passed, events[1].failures) == (51, [])
