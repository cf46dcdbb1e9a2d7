"""Speculative futures on the local sandbox, with real processes: started after an edit when
the model has run the tests, joined by its next identical call, superseded by a newer
edit (processes gone), preempted for a call of the model, never shown to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.agent.events import Event, EventBus, FutureCreated, FutureJoined
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.agent.futures import Future, FutureState
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.base import ToolsConfig
from asyncfc_agent.tools.workspace import Workspace
from support import alive, until


class Env:
    def __init__(self, root: Path, ex: Executor, events: list[Event], log: Path) -> None:
        self.root, self.ex, self.events, self.log = root, ex, events, log

    def submit(self, tool: str, **args: Any) -> Future:
        future: Future = self.ex.submit(tool, args, call_id=f"c{len(self.ex.futures)}", turn=1)
        return future

    def runs(self) -> list[str]:
        """One line per test command started: the pid of its shell and what a.txt held."""
        return self.log.read_text().splitlines() if self.log.exists() else []

    def speculative(self) -> list[FutureCreated]:
        return [e for e in self.events if isinstance(e, FutureCreated) and e.speculative]

    async def done(self, *futures: Future) -> None:
        await asyncio.wait_for(self.ex.wait(futures), 60)

    def edit(self, old: str, new: str) -> Future:
        return self.submit("edit_file", path="a.txt", old=old, new=new)


def env_fixture(**config: Any) -> Any:
    @pytest.fixture
    async def fixture(tmp_path: Path) -> AsyncIterator[Env]:
        root = tmp_path / "repo"
        root.mkdir()
        (root / "a.txt").write_text("v0\n")
        log = tmp_path / "runs.log"
        gate = tmp_path / "gate"
        # past the first run it waits for the gate (a file "slow" in the workspace)
        command = (f'echo "$$ $(cat a.txt)" >> {log}; if [ -e slow ]; then while [ ! -e {gate} ]; '
                   "do sleep 0.05; done; fi; cat a.txt; nice")
        events: list[Event] = []
        bus = EventBus()
        bus.subscribe(events.append)
        async with LocalSandbox(root, snapshot_root=tmp_path / "snaps") as sandbox:
            ex = Executor(
                tools=load_tools(["run_tests", "edit_file", "write_file", "run", "read_file"]),
                sandbox=sandbox, workspace=Workspace(root), bus=bus,
                config=ExecutorConfig(output_interval_s=0.01, **config),
                tools_config=ToolsConfig(test_command=command, command_timeout_s=60),
            )
            async with ex:
                yield Env(root, ex, events, log)

    return fixture


env = env_fixture()
one_slot = env_fixture(max_concurrency=1)
off = env_fixture(speculate=False)


async def test_an_edit_after_a_test_run_starts_it_and_the_next_call_joins(env: Env) -> None:
    first = env.submit("run_tests")
    await env.done(first)
    (env.root / "slow").touch()
    edit = env.edit("v0", "v1")
    await env.done(edit)
    await until(lambda: len(env.runs()) == 2, "a speculative run after the edit")
    (created,) = env.speculative()
    assert created.future == "s1" and created.tool == "run_tests"
    assert env.runs()[1].endswith(" v1")  # on the new revision
    assert set(env.ex.futures) == {"f1", "f2"}  # not among the model's futures
    assert env.ex.next_id() == "f3"  # nor in its numbering
    call = env.submit("run_tests")
    assert call.id == "f3"
    await until(lambda: any(isinstance(e, FutureJoined) for e in env.events), "the call to join")
    (env.root.parent / "gate").touch()
    await env.done(call)
    assert len(env.runs()) == 2  # the call started no process of its own
    (join,) = [e for e in env.events if isinstance(e, FutureJoined)]
    assert (join.future, join.source, join.speculative) == ("f3", "s1", True)
    assert "speculative start" in call.message and "s1" not in call.message
    # the command ran at a lower priority: `nice` alone prints the niceness it has
    assert first.result is not None and call.result is not None
    base = int(first.result.output.split()[-1])
    assert call.result.output.split()[-2:] == ["v1", str(min(19, base + 10))]


async def test_a_newer_edit_supersedes_the_run_and_kills_its_processes(env: Env) -> None:
    await env.done(env.submit("run_tests"))
    (env.root / "slow").touch()
    await env.done(env.edit("v0", "v1"))
    await until(lambda: len(env.runs()) == 2, "the first speculative run")
    first_pid = int(env.runs()[1].split()[0])
    assert alive(first_pid)
    s1 = env.ex.speculator.futures["s1"]
    await env.done(env.edit("v1", "v2"))
    await until(lambda: len(env.runs()) == 3, "the second speculative run")
    assert s1.state is FutureState.CANCELLED and "superseded" in (s1.error or "")
    await until(lambda: not alive(first_pid), "the superseded run's process to end")
    assert env.runs()[2].endswith(" v2")
    assert env.ex.speculator.futures["s2"].state is FutureState.RUNNING


async def test_a_run_the_model_joined_is_not_superseded(env: Env) -> None:
    await env.done(env.submit("run_tests"))
    (env.root / "slow").touch()
    await env.done(env.edit("v0", "v1"))
    await until(lambda: len(env.runs()) == 2, "a speculative run")
    call = env.submit("run_tests")
    await until(lambda: any(isinstance(e, FutureJoined) for e in env.events), "the call to join")
    await env.done(env.edit("v1", "v2"))
    (env.root.parent / "gate").touch()
    await env.done(call)
    assert call.state is FutureState.RESOLVED and call.joined == "s1"
    assert call.result is not None and "v1" in call.result.output


async def test_no_speculation_before_the_model_ran_a_test(env: Env) -> None:
    await env.done(env.edit("v0", "v1"))
    await env.done(env.submit("read_file", path="a.txt"))
    await env.done(env.edit("v1", "v2"))
    assert not env.speculative() and not env.runs()


async def test_speculation_off(off: Env) -> None:
    await off.done(off.submit("run_tests"))
    await off.done(off.edit("v0", "v1"))
    await off.done(off.submit("read_file", path="a.txt"))
    assert not off.speculative() and len(off.runs()) == 1


async def test_a_call_of_the_model_takes_the_slot_of_a_speculative_run(one_slot: Env) -> None:
    env = one_slot
    await env.done(env.submit("run_tests"))
    (env.root / "slow").touch()
    await env.done(env.edit("v0", "v1"))
    await until(lambda: len(env.runs()) == 2, "a speculative run")
    pid = int(env.runs()[1].split()[0])
    s1 = env.ex.speculator.futures["s1"]
    mine = env.submit("run", command="echo mine", readonly=True)
    await env.done(mine)
    assert mine.state is FutureState.RESOLVED and mine.result is not None
    assert "mine" in mine.result.output
    assert s1.state is FutureState.CANCELLED and "preempted" in (s1.error or "")
    await until(lambda: not alive(pid), "the preempted run's process to end")


def test_the_switches_and_the_mode_decide(tmp_path: Path) -> None:
    from asyncfc_agent.agent.assemble import assemble
    from asyncfc_agent.agent.config import executor_config
    from asyncfc_agent.agent.loop import Mode

    (tmp_path / "asyncfc.toml").write_text("[executor]\nspeculate = false\n")
    cfg = assemble(tmp_path, model="openai/gpt-4.1")
    assert (executor_config(cfg).speculate, executor_config(cfg).memoize) == (False, True)
    cfg = assemble(tmp_path, model="openai/gpt-4.1", speculate=True, memoize=False)
    assert (executor_config(cfg).speculate, executor_config(cfg).memoize) == (True, False)
    for mode in (Mode.SYNC, Mode.PARALLEL):  # the baselines run each call as asked
        cfg = assemble(tmp_path, model="openai/gpt-4.1", mode=mode.value, speculate=True)
        assert (executor_config(cfg).speculate, executor_config(cfg).memoize) == (False, False)
