"""Wake-ups of an idle interactive session when its futures resolve, driven without a
terminal (real sessions, local sandbox, scripted model)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import yaml
from asyncfc_agent.agent import resume
from interactive_support import (
    CRASH,
    FAST,
    Driver,
    Start,
    call,
    until,
    user_texts,
)

# -- wake-ups ------------------------------------------------------------------------


def gated(gate: Path, code: int = 0) -> str:
    """A command that ends (with ``code``) when the test creates ``gate``."""
    return f"while [ ! -e {gate} ]; do sleep 0.02; done; echo gate-open; exit {code}"


def wakes(d: Driver) -> list[Any]:
    return [e for e in d.events if e.kind == "wake_up"]


async def quiet(d: Driver) -> None:
    """Until the waker has decided about what resolved so far (it decides after a pause)."""
    await until(lambda: d.inter.waker._task is None or d.inter.waker._task.done())


async def test_an_idle_session_wakes_the_model_when_its_future_resolves(
    start: Start, tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    turns = [
        {"text": "Starting the run.", "tool_calls": [call("run", command=gated(gate), readonly=True)]},
        {"text": "It runs; I will tell you."},
        {"text": "The run passed."},
    ]
    async with start(turns) as d:
        first = await d.say("run it")
        assert first.running == ["f1"] and not wakes(d)
        assert [f.id for f in d.inter.waker.waiting()] == ["f1"]
        gate.touch()
        await until(lambda: len(d.reports) == 2)
        woke = d.reports[1]
        assert woke.woke == ["f1"] and woke.detail == "The run passed." and woke.number == 1
        kinds = d.kinds()
        resolved = next(i for i, e in enumerate(d.events) if e.kind == "future_resolved")
        (wake,) = wakes(d)
        assert resolved < d.events.index(wake) < kinds.index("request_sent", d.events.index(wake))
        assert wake.futures == ["f1"] and wake.reason == "resolved" and wake.streak == 1
        assert wake.turn == 3  # the wake-up turn's first model response
        # the results come first, then the words that ask for a reaction
        assert d.messages[-4]["tool_calls"][0]["id"].startswith("dlv")
        assert "gate-open" in d.messages[-3]["content"]
        assert d.messages[-2]["role"] == "user" and "f1" in d.messages[-2]["content"]
        assert d.inter.user_turns == 1 and not d.inter.waker.waiting()


async def test_results_that_resolve_together_wake_the_model_once(start: Start, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    turns = [{"tool_calls": [call("run", command=gated(gate), readonly=True),
                             call("run", command=gated(gate, 1), readonly=True)]},
             {"text": "Both run."}, {"text": "One passed, one failed."}]
    async with start(turns) as d:
        await d.say("go")
        gate.touch()  # both end at once
        await until(lambda: len(d.reports) == 2)
        await quiet(d)
        (wake,) = wakes(d)
        assert wake.futures == ["f1", "f2"] and wake.reason == "failed"
        assert len(d.reports) == 2


async def test_wake_failures_lets_a_pass_wait_and_wakes_on_a_failure(
    start: Start, tmp_path: Path,
) -> None:
    ok, bad = tmp_path / "ok", tmp_path / "bad"
    turns = [
        {"tool_calls": [call("run", command=gated(ok), readonly=True),
                        call("run", command=gated(bad, 1), readonly=True)]},
        {"text": "Both run."},
        {"text": "f2 failed: fixing it."},
    ]
    async with start(turns) as d:
        d.inter.waker.set_policy("failures")
        await d.say("run both")
        ok.touch()
        await until(lambda: d.inter.executor.futures["f1"].done.is_set())
        await quiet(d)
        assert not wakes(d) and not d.inter.executor.futures["f1"].delivered
        bad.touch()
        await until(lambda: len(d.reports) == 2)
        (wake,) = wakes(d)
        assert wake.futures == ["f1", "f2"] and wake.reason == "failed"
        assert d.reports[1].detail == "f2 failed: fixing it."


async def test_a_wake_up_waits_while_the_user_types(start: Start, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    turns = [
        {"tool_calls": [call("run", command=gated(gate), readonly=True)]},
        {"text": "Running."},
        {"text": "Reacting, after you cleared your line."},
    ]
    async with start(turns) as d:
        typing = [True]
        d.inter.waker.user_busy = lambda: typing[0]
        await d.say("go")
        gate.touch()
        await until(lambda: d.inter.waker.held)
        assert any(e.kind == "notice" and "while you type" in e.message  # type: ignore[attr-defined]
                   for e in d.events)
        assert not wakes(d) and not d.inter.busy
        typing[0] = False  # the line was cleared (the prompt says when it has been long enough)
        await until(lambda: len(d.reports) == 2)
        assert d.reports[1].woke == ["f1"] and not d.inter.waker.held


async def test_the_loop_guard_stops_a_model_that_keeps_starting_runs(start: Start) -> None:
    # each run a different command: an identical read-only one would be answered from the memo
    turns: list[dict[str, Any]] = [
        step
        for i in range(4)
        for step in ({"tool_calls": [call("run", command=f"sleep 0.3 # run {i}", readonly=True)]},
                     {"text": "Started."})
    ]
    async with start(turns) as d:
        d.inter.waker.config.max_wakes = 2
        await d.say("go")
        await until(lambda: any(e.kind == "notice" and "wake-ups in a row" in e.message  # type: ignore[attr-defined]
                                for e in d.events), timeout_s=30)
        assert [w.streak for w in wakes(d)] == [1, 2] and len(d.reports) == 3
        assert d.inter.waker.paused and not d.inter.busy
        assert not d.inter.executor.futures["f3"].delivered
        report = await d.say("stop starting runs")  # a message ends the streak and the pause
        assert not d.inter.waker.paused and d.inter.executor.futures["f3"].delivered
        assert report.number == 2


async def test_a_message_sent_during_a_wake_up_turn_waits_in_the_inbox(
    start: Start, tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    turns = [{"tool_calls": [call("run", command=gated(gate), readonly=True)]}, {"text": "Started."},
             {"text": "Reacting to f1."}, {"text": "Answering your aside."}]
    async with start(turns, profile={"ttft_s": 0.4, "tokens_per_s": 0}) as d:
        await d.say("go")
        gate.touch()
        await until(lambda: bool(wakes(d)) and d.inter.waking)
        assert not d.inter.send("an aside")  # the model works: it waits for its next step
        await until(lambda: len(d.reports) == 3)
        await d.inter.settle()
        assert [(r.woke, r.detail) for r in d.reports[1:]] == [
            (["f1"], "Reacting to f1."), ([], "Answering your aside.")]
        assert d.inter.user_turns == 2 and len(wakes(d)) == 1


async def test_a_wake_up_counts_against_the_budget_of_the_last_message(
    start: Start, tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    turns = [{"tool_calls": [call("run", command=gated(gate), readonly=True)]}, {"text": "Started."},
             {"tool_calls": [call("run", command="true", readonly=True)]}, {"text": "Never said."}]
    async with start(turns) as d:
        d.inter.budget = 3  # model responses per message: the message took two of them
        await d.say("go")
        gate.touch()
        await until(lambda: len(d.reports) == 2)
        woke = d.reports[1]
        assert woke.woke == ["f1"] and woke.reason == "max_turns"
        assert d.inter.usage().responses == 3 and d.inter.session.model.requests == 3


async def test_a_future_the_user_cancelled_wakes_nobody_and_wake_off_never_wakes(
    start: Start, tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    turns = [{"tool_calls": [call("run", command="sleep 30", readonly=True)]}, {"text": "Running."},
             {"tool_calls": [call("run", command=gated(gate), readonly=True)]}, {"text": "Again."}]
    async with start(turns) as d:
        await d.say("go")
        assert d.inter.cancel("f1")
        await d.inter.await_futures(["f1"])
        await quiet(d)
        d.inter.waker.set_policy("off")
        assert (await d.say("again")).running == ["f2"]
        gate.touch()
        await until(lambda: d.inter.executor.futures["f2"].done.is_set())
        await quiet(d)
        assert not wakes(d) and len(d.reports) == 2


async def test_a_resumed_session_lists_the_dead_process_futures_as_lost_and_never_waits_on_them(
    start: Start, repo: Path, tmp_path: Path,
) -> None:
    turns = [{"tool_calls": [call("run", command="sleep 3", readonly=True)]}, {"text": "Started."},
             {"text": "Back."}]
    script = tmp_path / "crash.yaml"
    script.write_text(yaml.safe_dump({"profile": FAST, "turns": turns}))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CRASH, str(repo),
                                                f"scripted/{script}")
    assert await proc.wait() == 3  # it died with f1 running
    saved = resume.load_last(repo)
    async with start(turns, saved=saved) as d:
        assert d.inter.lost() == [{"id": "f1", "tool": "run", "state": "running"}]
        assert not d.inter.executor.futures and not d.inter.waker.waiting()
        report = await d.say("still there?")
        assert "f1 (run, running)" in user_texts(d.messages)[-2]  # the model is told
        assert report.running == [] and not wakes(d)
