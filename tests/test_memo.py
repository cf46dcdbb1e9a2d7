"""Memoized futures: the key, and calls that join a run or reuse its result (local sandbox,
real processes). Each test command appends a line to a log outside the workspace, so a
test sees how many processes really started."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.agent.events import Event, EventBus, FutureJoined
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.agent.futures import Future, FutureState
from asyncfc_agent.agent.joins import current_key
from asyncfc_agent.agent.memo import TreeHasher
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.base import ToolsConfig
from asyncfc_agent.tools.workspace import Workspace
from support import until


class Env:
    def __init__(self, root: Path, ex: Executor, events: list[Event], log: Path) -> None:
        self.root, self.ex, self.events, self.log = root, ex, events, log

    def submit(self, tool: str, **args: Any) -> Future:
        future: Future = self.ex.submit(tool, args, call_id=f"c{len(self.ex.futures)}", turn=1)
        return future

    def runs(self) -> int:
        """Test commands that started, over the test."""
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def joins(self) -> list[FutureJoined]:
        return [e for e in self.events if isinstance(e, FutureJoined)]

    def open_gate(self) -> None:
        (self.root.parent / "gate").touch()

    async def done(self, *futures: Future) -> None:
        await asyncio.wait_for(self.ex.wait(futures), 60)

    async def key(self) -> str:
        tool = self.ex.tools["run_tests"]
        key: str = await current_key(self.ex, tool, tool.parse({}))
        return key


def make_env_fixture(**config: Any) -> Any:
    @pytest.fixture
    async def fixture(tmp_path: Path) -> AsyncIterator[Env]:
        root = tmp_path / "repo"
        root.mkdir()
        (root / "a.txt").write_text("alpha\n")
        log = tmp_path / "runs.log"
        gate = tmp_path / "gate"
        # waits for the gate when the workspace asks it to (a file "slow"), then fails
        command = (f"echo run >> {log}; echo started; if [ -e slow ]; then while [ ! -e {gate} ]; do sleep 0.02; "
                   "done; fi; cat a.txt; exit 1")
        events: list[Event] = []
        bus = EventBus()
        bus.subscribe(events.append)
        async with LocalSandbox(root, snapshot_root=tmp_path / "snaps") as sandbox:
            ex = Executor(
                tools=load_tools(["run_tests", "edit_file", "write_file", "run"]),
                sandbox=sandbox, workspace=Workspace(root), bus=bus,
                config=ExecutorConfig(output_interval_s=0.01, speculate=False, **config),
                tools_config=ToolsConfig(test_command=command, command_timeout_s=60),
            )
            async with ex:
                yield Env(root, ex, events, log)

    return fixture


env = make_env_fixture()
plain = make_env_fixture(memoize=False)


async def test_the_key_follows_the_content_the_image_and_whole_workspace_writers(env: Env) -> None:
    first = await env.key()
    assert await env.key() == first
    (env.root / "a.txt").write_text("changed\n")
    edited = await env.key()
    assert edited != first
    (env.root / "a.txt").write_text("alpha\n")  # back as it was: the same content, the same key
    assert await env.key() == first
    (env.root / "notes.txt").write_text("an untracked file\n")
    assert await env.key() != first
    (env.root / "notes.txt").unlink()
    (env.root / "__pycache__").mkdir()  # a cache, as snapshots' readers leave them
    (env.root / "__pycache__" / "a.cpython-312.pyc").write_bytes(b"\0\1")
    assert await env.key() == first
    env.ex.sandbox.image_id = "sha256:other"  # type: ignore[attr-defined]
    assert await env.key() != first
    del env.ex.sandbox.image_id  # type: ignore[attr-defined]
    assert await env.key() == first
    # a command that writes (it may install packages) changes the key even when no file changed
    writer = env.submit("run", command="true")
    await env.done(writer)
    assert writer.result is not None and not writer.result.edited
    assert await env.key() != first


def test_the_hasher_reads_only_changed_files(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"f{i}.txt").write_text(f"{i}\n")
    hasher = TreeHasher(Workspace(tmp_path))
    hasher.tree_hash()
    read = hasher.files_hashed
    assert read == 20
    # files written just now are read again (their times may not show a second write);
    # an old file is not: make them old, hash twice
    import os

    for i in range(20):
        os.utime(tmp_path / f"f{i}.txt", (1_000_000_000, 1_000_000_000))
    hasher.tree_hash()
    before = hasher.files_hashed
    hasher.tree_hash()
    assert hasher.files_hashed == before  # nothing changed: nothing read
    (tmp_path / "f3.txt").write_text("3 changed\n")
    hasher.tree_hash()
    assert hasher.files_hashed == before + 1


async def test_an_identical_call_joins_the_running_one(env: Env) -> None:
    (env.root / "slow").touch()
    f1 = env.submit("run_tests")
    await until(lambda: env.runs() == 1, "the first run to start")
    f2 = env.submit("run_tests")
    await until(lambda: env.joins(), "the second call to join")
    (join,) = env.joins()
    assert (join.future, join.source, join.reused, join.speculative) == (f2.id, f1.id, False, False)
    assert f2.state is FutureState.RUNNING
    # the joined call shows the run's output as it comes (a peek at it sees it)
    await until(lambda: "started" in f2.output_text(), "the run's output on the joined call")
    env.open_gate()
    await env.done(f1, f2)
    assert env.runs() == 1  # one process for two calls
    assert f1.result is not None and f2.result is not None
    assert f2.result.output == f1.result.output and f2.result.exit_code == 1
    assert f2.message.splitlines()[1].startswith(f"[{f2.id} run_tests: joined {f1.id}")


async def test_a_repeat_on_an_unchanged_tree_returns_the_result_without_running(env: Env) -> None:
    f1 = env.submit("run_tests")
    await env.done(f1)
    f2 = env.submit("run_tests")
    await env.done(f2)
    assert env.runs() == 1  # no new command, no new process
    (join,) = env.joins()
    assert (join.source, join.reused) == (f1.id, True)
    assert f2.state is FutureState.RESOLVED and f2.result is not None and f2.result.exit_code == 1
    assert f"the result of {f1.id}" in f2.message and "nothing ran again" in f2.message
    # an argument spelled differently is the same call ({} and an explicit default)
    f3 = env.submit("run_tests", target=None)
    await env.done(f3)
    assert env.runs() == 1


async def test_an_edit_or_a_new_file_means_a_new_run(env: Env) -> None:
    await env.done(env.submit("run_tests"))
    edit = env.submit("edit_file", path="a.txt", old="alpha", new="beta")
    f2 = env.submit("run_tests")
    await env.done(edit, f2)
    assert env.runs() == 2 and f2.result is not None and "beta" in f2.result.output
    new = env.submit("write_file", path="extra.txt", content="x\n")
    f3 = env.submit("run_tests")
    await env.done(new, f3)
    assert env.runs() == 3 and not [j for j in env.joins() if j.future == f3.id]


async def test_a_cancelled_run_is_not_reused(env: Env) -> None:
    (env.root / "slow").touch()
    f1 = env.submit("run_tests")
    await until(lambda: env.runs() == 1, "the first run to start")
    env.ex.cancel(f1.id)
    await env.done(f1)
    assert f1.state is FutureState.CANCELLED
    env.open_gate()
    f2 = env.submit("run_tests")
    await env.done(f2)
    assert env.runs() == 2 and f2.state is FutureState.RESOLVED


async def test_a_joined_run_that_is_cancelled_leaves_the_joiner_to_run_itself(env: Env) -> None:
    (env.root / "slow").touch()
    f1 = env.submit("run_tests")
    await until(lambda: env.runs() == 1, "the first run to start")
    f2 = env.submit("run_tests")
    await until(lambda: env.joins(), "the second call to join")
    env.ex.cancel(f1.id)
    await until(lambda: env.runs() == 2, "the joiner to run itself")
    env.open_gate()
    await env.done(f1, f2)
    assert f1.state is FutureState.CANCELLED
    assert f2.state is FutureState.RESOLVED and f2.joined is None and f2.note is None


async def test_writers_are_never_memoized(env: Env) -> None:
    f1 = env.submit("run", command=f"echo run >> {env.log}")
    f2 = env.submit("run", command=f"echo run >> {env.log}")
    await env.done(f1, f2)
    assert env.runs() == 2 and not env.joins()


async def test_memoize_off_runs_every_call(plain: Env) -> None:
    await plain.done(plain.submit("run_tests"))
    await plain.done(plain.submit("run_tests"))
    assert plain.runs() == 2 and not plain.joins()
