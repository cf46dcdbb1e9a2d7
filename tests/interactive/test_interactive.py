"""The interactive driver without a terminal: real sessions (git worktree, local sandbox,
scripted model through litellm), driven with asyncio directly."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncfc_agent.agent import interactive, resume
from asyncfc_agent.agent.config import ConfigError
from asyncfc_agent.agent.futures import FutureState
from asyncfc_agent.agent.interactive import NotNow
from asyncfc_agent.agent.loop import Mode
from asyncfc_agent.agent.protocol import close_open_calls
from asyncfc_agent.agent.workarea import WorkAreaError
from interactive_support import (
    CRASH,
    FAST,
    Start,
    alive,
    assert_calls_answered,
    call,
    last_call,
    until,
    user_texts,
)
from support import BUGGY, git


async def test_turn_ends_while_a_future_runs_and_its_result_comes_with_the_next_message(
    start: Start,
) -> None:
    turns = [
        {"text": "Starting it.", "tool_calls": [call("run", command="sleep 1; echo slow-done", readonly=True)]},
        {"text": "It runs; ask away."},
        {"text": "Here is the next answer."},
    ]
    async with start(turns) as d:
        first = await d.say("start the slow thing")
        assert first.reason == "submitted" and first.detail == "It runs; ask away."
        assert first.running == ["f1"] and d.inter.executor.futures["f1"].state is FutureState.RUNNING
        assert not d.inter.busy
        (f1,) = await d.inter.await_futures(["f1"])
        assert f1.state is FutureState.RESOLVED and "slow-done" in d.inter.output("f1")
        assert not f1.delivered  # nobody asked the model yet
        second = await d.say("and now?")
        assert second.detail == "Here is the next answer."
        tail = d.messages[-4:]
        assert tail[0] == {"role": "user", "content": "and now?"}
        assert tail[1]["tool_calls"][0]["id"].startswith("dlv")
        assert tail[2]["role"] == "tool" and "slow-done" in tail[2]["content"]
        assert tail[3]["content"] == "Here is the next answer."
        assert f1.delivered_via == "delivery"


async def test_a_message_sent_mid_turn_is_given_at_the_next_boundary(start: Start) -> None:
    turns = [
        {"text": "Reading.", "tool_calls": [call("read_file", path="calc.py")]},
        {"text": "Done, and I saw your aside."},
        {"text": "A turn of its own."},
    ]
    async with start(turns, profile={"ttft_s": 0.4, "tokens_per_s": 0}) as d:
        assert d.inter.send("read calc.py")
        await until(lambda: d.kinds().count("request_sent") == 1)
        assert not d.inter.send("an aside")  # the model is decoding: it waits in the inbox
        assert d.inter.agent.inbox == ["an aside"]
        await d.inter.settle()
        assert [r.detail for r in d.reports] == ["Done, and I saw your aside."]
        roles = [(m["role"], m.get("content")) for m in d.messages[1:]]
        aside = roles.index(("user", "an aside"))
        assert roles[aside - 1][0] == "tool"  # after the first response's result...
        assert roles[aside + 1] == ("assistant", "Done, and I saw your aside.")  # ...before the next

        assert d.inter.send("one more")
        await until(lambda: d.kinds().count("request_sent") == 3)
        assert not d.inter.send("sent during the final answer")
        await d.inter.settle()
        # the answer had no tool calls: the queued message gets a turn of its own
        assert [r.number for r in d.reports] == [1, 2, 3]
        assert d.reports[-1].detail == "" and d.inter.user_turns == 3


async def test_interrupt_cancels_the_turn_and_its_futures(start: Start) -> None:
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    turns = [
        {"tool_calls": [call("run", command=f"sleep 30 && echo {marker}", readonly=True)]},
        {"tool_calls": [call("await_futures")]},  # blocks on f1: the turn is busy
        {"text": "After the interruption."},
    ]
    async with start(turns) as d:
        assert d.inter.send("go")
        await until(lambda: alive(marker) and last_call(d.messages) == "await_futures")
        assert d.inter.busy and alive(marker)
        stopped = d.inter.interrupt()
        assert stopped.turn and stopped.futures == ["f1"]
        await d.inter.settle()
        assert d.reports[-1].reason == "cancelled"
        (f1,) = await d.inter.await_futures(["f1"])
        assert f1.state is FutureState.CANCELLED and f1.error == interactive.CANCELLED_BY_USER
        assert not alive(marker)
        assert_calls_answered(d.messages)

        after = await d.say("carry on")
        assert after.detail == "After the interruption."
        users = user_texts(d.messages)
        assert users[-2:] == [interactive.INTERRUPTED_NOTE, "carry on"]
        delivered = [m["content"] for m in d.messages if m["role"] == "tool"][-1]
        assert delivered.startswith("[f1 run: cancelled") and "cancelled by the user" in delivered


async def test_interrupt_while_the_model_writes_drops_the_half_response(start: Start) -> None:
    turns = [{"text": "A long answer " * 40}, {"text": "Second."}]
    async with start(turns, profile={"ttft_s": 0.0, "tokens_per_s": 100}) as d:
        assert d.inter.send("talk")
        await until(lambda: "text" in d.kinds())  # the response streams (it takes ~1.4 s)
        assert d.inter.interrupt().turn
        await d.inter.settle()
        assert d.reports[-1].reason == "cancelled"
        assert [m["role"] for m in d.messages] == ["system", "user"]
        assert d.inter.send("again")  # idle again: a new turn
        await d.inter.settle()
        # the half response was never added: the model is asked the same turn again
        assert d.reports[-1].detail == "A long answer " * 40


async def test_undo_takes_the_last_checkpoint_off_the_branch(start: Start) -> None:
    turns = [
        {"tool_calls": [call("edit_file", path="calc.py", old="a - b", new="a + b")]},
        {"text": "Fixed."},
        {"tool_calls": [call("write_file", path="notes.txt", content="hello\n")]},
        {"text": "Wrote notes."},
    ]
    async with start(turns) as d:
        first = await d.say("fix add")
        second = await d.say("write notes")
        assert first.checkpoint and second.checkpoint
        area = d.inter.area
        log = git(area.path, "log", "--format=%s", f"{area.base}..HEAD").splitlines()
        assert log == ["asyncfc-agent: turn 2: write notes", "asyncfc-agent: turn 1: fix add"]

        undone = await d.inter.undo()
        assert undone is not None and undone.files == ["notes.txt"]
        assert undone.subject == "asyncfc-agent: turn 2: write notes"
        assert not (area.path / "notes.txt").exists() and "a + b" in (area.path / "calc.py").read_text()
        assert area.head() == first.checkpoint

        (area.path / "scratch.txt").write_text("late\n")  # a change after the last checkpoint
        undone = await d.inter.undo()
        assert undone is not None and sorted(undone.files) == ["calc.py", "scratch.txt"]
        assert (area.path / "calc.py").read_text() == BUGGY and not (area.path / "scratch.txt").exists()
        assert area.head() == area.base
        assert await d.inter.undo() is None
        assert d.inter.notes[-1].startswith("I reverted the changes of 'asyncfc-agent: turn 1")


async def test_undo_waits_for_a_writer(start: Start) -> None:
    turns = [{"tool_calls": [call("run", command="sleep 5")]}, {"text": "running"}]
    async with start(turns) as d:
        await d.say("go")
        with pytest.raises(NotNow, match="f1 may still write"):
            await d.inter.undo()
        assert d.inter.cancel("f1")
        await d.inter.await_futures(["f1"])
        assert d.inter.executor.futures["f1"].state is FutureState.CANCELLED
        assert not d.inter.cancel("1")  # it has ended: nothing to cancel
        with pytest.raises(NotNow, match="no future f9"):
            d.inter.output("f9")


async def test_resume_continues_the_conversation_on_the_same_branch(
    start: Start, repo: Path, home: Path,
) -> None:
    turns = [
        {"tool_calls": [call("edit_file", path="calc.py", old="a - b", new="a + b")]},
        {"text": "Fixed."},
        {"tool_calls": [call("read_file", path="calc.py")]},
        {"text": "Continued after the resume."},
    ]
    async with start(turns) as d:
        await d.say("fix add")
        branch = d.inter.area.branch
        first_run = d.inter.session.out_dir
    assert branch is not None and "a + b" in git(repo, "show", f"{branch}:calc.py")
    assert git(repo, "status", "--porcelain") == "" and (repo / "calc.py").read_text() == BUGGY
    state = json.loads((first_run / "session.json").read_text())
    assert state["closed"] is True and state["branch"] == branch

    saved = resume.load_last(repo)
    assert saved.run_dir == first_run and saved.user_turns == 1 and saved.task == "fix add"
    async with start(turns, saved=saved) as d:
        area = d.inter.area
        assert area.branch == branch and area.base == state["base"]
        assert git(area.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == branch
        assert "a + b" in (area.path / "calc.py").read_text()
        assert user_texts(d.messages)[-1] == "fix add"
        report = await d.say("anything else?")
        assert report.number == 2 and report.detail == "Continued after the resume."
        note = user_texts(d.messages)[-2]
        assert "resumed in a new process" in note and "numbered from f2" in note
        # the ids go on after the earlier process's, so f1 in the history stays unambiguous
        assert list(d.inter.executor.futures) == ["f2"]
        second_run = d.inter.session.out_dir
    assert second_run != first_run
    assert resume.load_last(repo).run_dir == second_run


async def test_resume_after_a_crash_goes_on_in_the_worktree_left_behind(
    start: Start, repo: Path, tmp_path: Path,
) -> None:
    turns = [
        {"tool_calls": [call("edit_file", path="calc.py", old="a - b", new="a + b")]},
        {"text": "Fixed."},
        {"text": "Back after the crash."},
    ]
    script = tmp_path / "crash.yaml"
    script.write_text(yaml.safe_dump({"profile": FAST, "turns": turns}))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CRASH, str(repo),
                                                f"scripted/{script}")
    assert await proc.wait() == 3
    saved = resume.load_last(repo)
    assert not saved.closed and saved.worktree is not None and saved.worktree.is_dir()

    with pytest.raises(WorkAreaError, match="still open in process"):
        async with start(turns, saved=dataclasses.replace(saved, pid=os.getpid())):
            pass
    assert saved.worktree.is_dir()  # the refusal left it alone

    async with start(turns, saved=saved) as d:
        area = d.inter.area
        assert area.path == saved.worktree and area.branch == saved.branch
        assert (area.path / "late.txt").read_text() == "not committed yet\n"
        report = await d.say("still there?")
        assert report.detail == "Back after the crash." and report.checkpoint
    assert not saved.worktree.exists()
    assert git(repo, "show", f"{saved.branch}:late.txt") == "not committed yet\n"


async def test_a_session_never_spoken_to_keeps_the_last_one(start: Start, repo: Path) -> None:
    with pytest.raises(resume.ResumeError, match="no earlier session"):
        resume.load_last(repo)
    async with start([{"text": "hi"}]) as d:
        await d.say("hello")
        spoken = d.inter.session.out_dir
    async with start([{"text": "hi"}]):
        pass
    assert resume.load_last(repo).run_dir == spoken


async def test_mode_and_model_switches(start: Start, tmp_path: Path) -> None:
    turns = [{"text": "one"}, {"text": "two"}]
    async with start(turns, profile={"ttft_s": 0.3, "tokens_per_s": 0}) as d:
        assert d.inter.send("first")
        await until(lambda: "request_sent" in d.kinds())
        assert d.inter.set_mode("sync") is Mode.SYNC
        assert d.inter.agent.config.mode is Mode.ASYNC  # the running turn keeps its mode
        await d.inter.settle()
        await d.say("second")
        assert d.inter.agent.config.mode is Mode.SYNC
        with pytest.raises(NotNow, match="unknown mode"):
            d.inter.set_mode("fast")
        with pytest.raises(ConfigError, match="does not exist"):
            d.inter.set_model("scripted/nowhere.yaml")
        other = tmp_path / "other.yaml"
        other.write_text("turns: []\n")
        assert d.inter.set_model(f"scripted/{other}") == f"scripted/{other.resolve()}"
        usage = d.inter.usage()
        assert usage.responses == 2 and usage.user_turns == 2 and usage.requests == 2


def test_close_open_calls_answers_only_the_missing_ones() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "a", "function": {"name": "grep", "arguments": "{}"}},
            {"id": "b", "function": {"name": "run", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "a", "name": "grep", "content": "ok"},
    ]
    assert close_open_calls(messages, "cancelled") == 1
    assert messages[-1] == {"role": "tool", "tool_call_id": "b", "name": "run", "content": "cancelled"}
    assert close_open_calls(messages, "cancelled") == 0
    assert close_open_calls([{"role": "user", "content": "y"}], "c") == 0



async def test_a_conversation_too_long_for_the_provider_ends_the_turn_not_the_session(
    start: Start,
) -> None:
    turns = [
        {"text": "Reading.", "tool_calls": [call("read_file", path="calc.py")]},
        {"text": "Read it."},
        {"text": "Still here."},
    ]
    async with start(turns) as d:
        model = d.inter.session.model
        stream = model._stream
        refusing = True

        async def provider(litellm: Any, *args: Any) -> Any:
            if refusing:
                raise litellm.ContextWindowExceededError(
                    message="This model's maximum context length is 10 tokens",
                    model=model.config.model, llm_provider="openai")
            return await stream(litellm, *args)

        model._stream = provider
        report = await d.say("read calc.py")
        assert report.reason == "model_error"
        assert "does not fit the model's context window even compacted" in report.detail
        assert [e.kind for e in d.events].count("context_compacted") == 1  # the one harder try
        refusing = False  # e.g. the user switched to a model with a larger window
        assert (await d.say("try again")).detail == "Read it."
        assert (await d.say("and now?")).detail == "Still here."
        assert_calls_answered(d.messages)
