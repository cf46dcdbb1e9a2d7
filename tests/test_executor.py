"""The executor with real tools, a real local sandbox and real processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from asyncfc_agent.agent.events import Event, EventBus
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.agent.futures import Future, FutureFailed, FutureNotDone, FutureState
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.base import Effects, Tool, ToolArgs, ToolContext, ToolResult, ToolsConfig
from asyncfc_agent.tools.workspace import Workspace
from support import alive, group_members, group_of, pids_written, until

RUNNING, PENDING = FutureState.RUNNING, FutureState.PENDING


class HoldArgs(ToolArgs):  # type: ignore[misc]  # Any where mypy does not find the package
    reads: list[str] = []
    writes: list[str] = []
    timeout_s: float | None = None


class Hold(Tool[HoldArgs]):  # type: ignore[misc]
    """Touches the paths it is given and runs until the test lets it go (or forever)."""

    name: ClassVar[str] = "hold"
    description: ClassVar[str] = "Holds its paths."
    Args = HoldArgs

    def __init__(self) -> None:
        self.release = asyncio.Event()

    def effects(self, args: HoldArgs) -> Effects:
        return Effects(reads=Effects.read(*args.reads).reads, writes=Effects.write(*args.writes).writes)

    async def run(self, ctx: ToolContext, args: HoldArgs) -> ToolResult:
        await self.release.wait()  # deaf to its own timeout_s: only the executor can stop it
        return ToolResult(output="released")


class Env:
    def __init__(self, root: Path, ex: Executor, events: list[Event]) -> None:
        self.root, self.ex, self.events = root, ex, events
        self.gate = root.parent / "gate"  # outside the workspace: snapshots see it too

    def submit(self, tool: str, **args: Any) -> Any:
        return self.ex.submit(tool, args, call_id=f"c{len(self.ex.futures)}", turn=1)

    def kinds(self, fid: str) -> list[str]:
        return [e.kind for e in self.events if getattr(e, "future", None) == fid]

    def gated(self, command: str, gate: str = "gate") -> str:
        """``command`` once the test opens ``gate``: until then the future surely runs."""
        return f"while [ ! -e {self.root.parent / gate} ]; do sleep 0.02; done; {command}"

    def open(self, gate: str = "gate") -> None:
        (self.root.parent / gate).touch()

    def started(self, f: Future) -> bool:
        """Running, its snapshot taken and its start published."""
        return f.state is RUNNING and "future_started" in self.kinds(f.id)

    async def running(self, *futures: Future, count: int | None = None) -> None:
        want = len(futures) if count is None else count
        await until(lambda: sum(map(self.started, futures)) >= want, f"{want} futures to run")


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
            tools={**load_tools(["read_file", "edit_file", "write_file", "run", "grep"]), "hold": Hold()},
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
    f1 = env.submit("run", command=env.gated("printf b.txt"))
    f2 = env.submit("read_file", path="${f1}")
    assert f2.deps == ["f1"]
    await env.running(f1)
    assert f2.state is PENDING  # waits for f1
    env.open()
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


def background_sleep(pidfile: Path) -> str:
    """A command that leaves a child in its process group and writes the child's pid."""
    return f"sleep 300 & echo $! > {pidfile}; wait"


async def test_cancel_kills_the_process_group(env: Env) -> None:
    pidfile = env.root.parent / "child.pid"
    f = env.submit("run", command=background_sleep(pidfile), timeout_s=600)
    (child,) = await pids_written(pidfile)
    group = group_of(child)
    assert f.state is RUNNING and alive(child)
    assert env.ex.cancel(f.id, "cancelled by test")
    await env.ex.wait([f], timeout_s=60)
    assert f.state is FutureState.CANCELLED and f.error == "cancelled by test"
    await until(lambda: not group_members(group), "the cancelled command's process group to end")
    assert env.ex.cancel(f.id) is False


async def test_timeout_kills_the_group_and_keeps_partial_output(env: Env) -> None:
    pidfile = env.root.parent / "child.pid"
    f = env.submit("run", command=f"echo started; {background_sleep(pidfile)}", timeout_s=2)
    await env.ex.wait([f], timeout_s=60)
    assert f.state is FutureState.TIMED_OUT
    assert "started" in f.message and "timed out after 2 s" in f.message
    (child,) = await pids_written(pidfile, timeout_s=0)  # written before the timeout
    await until(lambda: not alive(child), "the timed-out command's child to end")


async def test_a_tool_deaf_to_its_timeout_is_stopped_by_the_executor(tmp_path: Path) -> None:
    hold = Hold()
    config = ExecutorConfig(timeout_margin_s=0.2, future_timeout_s=0.5)
    async with LocalSandbox(tmp_path) as sandbox, Executor(
        tools={"hold": hold}, sandbox=sandbox, workspace=Workspace(tmp_path), bus=EventBus(),
        config=config,
    ) as ex:
        own = ex.submit("hold", {"timeout_s": 0.3}, call_id="a", turn=1)  # its own, plus the margin
        default = ex.submit("hold", {}, call_id="b", turn=1)  # no timeout of its own: the default
        await ex.wait([own, default], timeout_s=60)
    for f in (own, default):
        assert f.state is FutureState.TIMED_OUT, f.message
        assert f.error == "timed out (stopped by the executor)"
    assert own.ended_s is not None and own.started_s is not None
    assert own.ended_s - own.started_s >= 0.5  # not before its timeout and the margin


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
    fs = [env.submit("run", command=env.gated("true"), readonly=True) for _ in range(3)]
    await env.running(*fs)  # none can end before the gate opens: all three run at once
    env.open()
    await env.ex.wait(fs)
    assert all(f.state is FutureState.RESOLVED for f in fs)


def most_at_once(events: list[Event]) -> int:
    running = peak = 0
    for e in events:
        running += {"future_started": 1, "future_resolved": -1}.get(e.kind, 0)
        peak = max(peak, running)
    return peak


async def test_concurrency_cap(env: Env) -> None:
    # different commands: identical ones would join one run (agent/memo.py)
    fs = [env.submit("run", command=env.gated(f"true {i}"), readonly=True) for i in range(6)]
    await env.running(*fs, count=4)
    assert sum(f.state is PENDING for f in fs) == 2  # the cap of the fixture
    env.open()
    await env.ex.wait(fs)
    assert most_at_once(env.events) == 4


async def test_snapshot_isolation_and_staleness(env: Env) -> None:
    reader = env.submit("run", command=env.gated("cat a.txt"), readonly=True)
    await env.running(reader)
    edit = env.submit("edit_file", path="a.txt", old="alpha", new="changed")
    await env.ex.wait([edit], timeout_s=60)  # the edit does not wait for the reader
    assert edit.state is FutureState.RESOLVED and reader.state is RUNNING
    env.open()
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
    slow = env.submit("run", command=env.gated("true"), readonly=True)
    fast = env.submit("run", command="true", readonly=True)
    assert await env.ex.wait([slow, fast], mode="any", timeout_s=60)
    assert fast.done.is_set() and not slow.done.is_set()
    assert not await env.ex.wait([slow], timeout_s=0.05)
    env.open()
    assert await env.ex.wait([slow], timeout_s=60)


async def test_output_streams_and_peek_shows_only_new_output(env: Env) -> None:
    f = env.submit("run", command=f"echo one; {env.gated('echo two', 'second')}; {env.gated('true')}",
                   readonly=True)
    shown: list[str] = []

    def peeked(text: str) -> bool:
        shown.append(env.ex.peek(f))
        return text in "".join(shown)

    async def shows(text: str) -> str:
        shown.clear()
        await until(lambda: peeked(text), f"{text!r} to show")
        return "".join(shown).strip()

    assert await shows("one") == "one"
    env.open("second")
    assert await shows("two") == "two"  # only what came since the last peek
    env.open()
    await env.ex.wait([f])
    assert any(e.kind == "future_output" for e in env.events)


async def test_the_event_loop_runs_while_commands_run(env: Env) -> None:
    # Only the loop can open the gate: an executor that blocked it while a process runs would
    # never see these commands end. (How late the loop's timers fire under load is a figure
    # of the executor benchmark.)
    fs = [env.submit("run", command=env.gated("true"), readonly=True) for _ in range(8)]
    await env.running(*fs, count=4)
    env.open()
    assert await env.ex.wait(fs, timeout_s=60)


async def test_exit_cancels_what_still_runs(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    workspace = tmp_path / "repo"
    workspace.mkdir()
    async with LocalSandbox(workspace) as sandbox:
        ex = Executor(tools=load_tools(["run"]), sandbox=sandbox, workspace=Workspace(workspace),
                      bus=EventBus())
        async with ex:
            f = ex.submit("run", {"command": background_sleep(pidfile)}, call_id="c", turn=1)
            (child,) = await pids_written(pidfile)
            group = group_of(child)
            assert f.state is RUNNING and alive(child)
        assert f.state is FutureState.CANCELLED
    await until(lambda: not group_members(group), "the run's process group to end")


@pytest.mark.parametrize(("first", "second", "conflict"), [
    (Effects.write("src"), Effects.read("src/m.py"), True),  # a directory and a file in it
    (Effects.write("src/m.py"), Effects.read("./src/"), True),  # either way, in any spelling
    (Effects.write("src"), Effects.read("src2"), False),  # a prefix of the name is not inside
    (Effects.write("src"), Effects.write("src2/m.py"), False),
    (Effects.whole_writer(), Effects.read("deep/in/it.py"), True),
    (Effects.read("a.py"), Effects.whole_writer(), True),
    (Effects.snapshot_reader(), Effects.read("a.py"), False),  # readers never wait for readers
    (Effects.write("a.py"), Effects.write("a.py"), True),
])
def test_which_effects_conflict(first: Effects, second: Effects, conflict: bool) -> None:
    assert first.conflicts(second) is conflict and second.conflicts(first) is conflict


async def test_a_writer_of_a_directory_holds_back_a_reader_of_a_file_in_it(env: Env) -> None:
    for d in ("src", "src2"):
        (env.root / d).mkdir()
        (env.root / d / "m.py").write_text(f"# {d}\n")
    writer = env.submit("hold", writes=["src"])
    await env.running(writer)
    inside = env.submit("read_file", path="src/m.py")
    beside = env.submit("read_file", path="src2/m.py")
    await env.ex.wait([beside], timeout_s=60)
    assert beside.state is FutureState.RESOLVED and inside.state is PENDING
    hold = env.ex.tools["hold"]
    assert isinstance(hold, Hold)
    hold.release.set()
    await env.ex.wait([writer, inside], timeout_s=60)
    assert inside.state is FutureState.RESOLVED and "# src" in inside.value().output
    assert inside.started_s is not None and writer.ended_s is not None
    assert inside.started_s >= writer.ended_s


async def test_a_whole_workspace_writer_holds_back_a_later_reader(env: Env) -> None:
    writer = env.submit("run", command=env.gated("echo late > a.txt"))
    await env.running(writer)
    reader = env.submit("read_file", path="a.txt")
    untouched = env.submit("hold")  # touches nothing, so it runs at once: a reader would have too
    await env.running(untouched)
    assert reader.state is PENDING
    env.open()
    await env.ex.wait([reader], timeout_s=60)
    assert "late" in reader.value().output and reader.workspace_rev == 1


async def test_a_snapshot_reader_sees_no_git_and_its_snapshot_goes(env: Env) -> None:
    (env.root / ".git").mkdir()
    (env.root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    snaps = env.root.parent / "snaps"
    f = env.submit("run", command=env.gated("ls -A"), readonly=True)
    await env.running(f)
    assert len(list(snaps.iterdir())) == 1  # its copy, while it runs
    env.open()
    await env.ex.wait([f])
    assert f.value().output.splitlines() == ["a.txt", "b.txt"]  # no .git
    assert list(snaps.iterdir()) == []


async def test_an_edit_of_thousands_of_files_names_a_bounded_number(env: Env) -> None:
    f = env.submit("run", command="mkdir many && cd many && touch $(seq -f 'f%04g' 1 1500)")
    await env.ex.wait([f])
    (edited,) = [e for e in env.events if e.kind == "workspace_edited"]
    assert len(edited.paths) == 1001 and edited.paths[-1] == ""  # "" is the whole workspace
    assert edited.paths[:2] == ["many/f0001", "many/f0002"]
    assert len(env.ex.workspace.edited_since(0)) == 1500  # staleness still sees every path
