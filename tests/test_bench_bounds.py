"""The lower bound and the overhead-free schedules, on plans whose answers are worked out
by hand."""

from __future__ import annotations

import pytest
from asyncfc_agent.agent.script import Script
from asyncfc_agent.bench.bounds import (
    Await,
    Call,
    Plan,
    Step,
    lower_bound,
    plan_from_script,
    simulate,
)

# A suite started in the first response (its call closes 1 s into a 2 s response), an
# await in the second, a final answer: async overlaps the suite with response 2.
SUITE = Plan((
    Step(2.0, (Call("f1", "run_tests", 1.0),)),
    Step(1.0, awaits=(Await(),)),
    Step(1.0),
))


def test_async_starts_a_call_when_it_closes() -> None:
    sched = simulate(SUITE, {"f1": 10.0}, "async")
    f1 = sched.futures["f1"]
    assert (f1.start_s, f1.end_s) == (1.0, 11.0)
    assert [(t.request_s, t.end_s, t.done_s) for t in sched.turns] == [
        (0.0, 2.0, 2.0), (2.0, 3.0, 11.0), (11.0, 12.0, 12.0)]
    assert sched.makespan_s == 12.0


@pytest.mark.parametrize("mode", ["sync", "parallel"])
def test_other_modes_start_calls_when_the_response_ends(mode: str) -> None:
    sched = simulate(SUITE, {"f1": 10.0}, mode)  # type: ignore[arg-type]
    assert sched.futures["f1"].start_s == 2.0
    assert sched.makespan_s == 14.0  # 2 + 10 + 1 + 1


def test_the_bound_is_the_longer_of_model_time_and_the_critical_path() -> None:
    bound = lower_bound(SUITE, {"f1": 10.0})
    assert bound.model_s == 4.0
    assert bound.critical_path_s == 12.0
    assert bound.lower_bound_s == 12.0
    # short tools: the model's own time is the bound
    short = lower_bound(SUITE, {"f1": 0.5})
    assert short.critical_path_s == short.lower_bound_s == 4.0


def test_critical_path_names_what_holds_the_end() -> None:
    path = lower_bound(SUITE, {"f1": 10.0}).path
    assert [(s.kind, s.label, s.start_s, s.end_s) for s in path] == [
        ("model", "response 1 until f1 closes", 0.0, 1.0),
        ("tool", "f1 run_tests", 1.0, 11.0),
        ("model", "response 3", 11.0, 12.0),
    ]
    assert sum(s.seconds for s in path) == 12.0


def test_sync_runs_the_calls_of_a_response_one_after_another() -> None:
    plan = Plan((Step(1.0, (Call("f1", "grep", 0.5), Call("f2", "grep", 1.0))), Step(1.0)))
    durations = {"f1": 2.0, "f2": 3.0}
    assert simulate(plan, durations, "sync").makespan_s == 1 + 2 + 3 + 1
    assert simulate(plan, durations, "parallel").makespan_s == 1 + 3 + 1
    # async: both run during the response; the final answer comes while they still run,
    # so the finishing gate awaits f2 and asks once more (an empty response, 0 s here)
    sched = simulate(plan, durations, "async")
    assert sched.makespan_s == 4.0 and len(sched.turns) == 3
    path = simulate(plan, durations, "sync").critical_path()
    assert [s.label for s in path] == ["response 1 until f1 closes", "f1 grep", "f2 grep", "response 2"]


def test_a_reference_starts_a_call_when_its_dependency_ends() -> None:
    plan = Plan((
        Step(2.0, (Call("f1", "run", 0.5), Call("f2", "read_file", 1.0, deps=("f1",)))),
        Step(1.0, awaits=(Await(ids=("f2",)),)),
        Step(1.0),
    ))
    sched = simulate(plan, {"f1": 4.0, "f2": 1.0}, "async")
    assert (sched.futures["f2"].start_s, sched.futures["f2"].after) == (4.5, "f1")
    assert sched.makespan_s == 5.5 + 1.0
    assert [s.label for s in sched.critical_path()] == [
        "response 1 until f1 closes", "f1 run", "f2 read_file", "response 3"]


def test_an_unknown_reference_fails_at_once() -> None:
    plan = Plan((Step(1.0, (Call("f1", "read_file", 1.0, deps=("f9",)),)), Step(1.0)))
    sched = simulate(plan, {"f1": 5.0}, "async")
    assert sched.futures["f1"].end_s == 1.0


def test_await_any_and_await_with_a_timeout() -> None:
    calls = (Call("f1", "run_tests", 0.0), Call("f2", "build", 0.0))
    durations = {"f1": 10.0, "f2": 3.0}
    any_ = Plan((Step(1.0, calls, (Await(ids=("f1", "f2"), any=True),)), Step(1.0)))
    sched = simulate(any_, durations, "async")
    assert (sched.turns[0].done_s, sched.turns[0].waited_on) == (3.0, "f2")
    # the answer at 4 s leaves f1 running: the gate waits for it and asks again
    assert sched.makespan_s == 10.0
    timeout = Plan((Step(1.0, calls, (Await(ids=("f1",), timeout_s=2.0),)), Step(1.0)))
    sched = simulate(timeout, durations, "async", max_gate_prompts=0)
    assert sched.turns[0].done_s == 3.0 and sched.turns[0].waited_on is None
    assert [s.kind for s in sched.critical_path()] == ["model", "wait", "model"]
    assert sched.makespan_s == 4.0
    peek = Plan((Step(1.0, calls, (Await(ids=("f1",), timeout_s=0),)), Step(1.0)))
    assert simulate(peek, durations, "async", max_gate_prompts=0).makespan_s == 2.0


def test_await_of_everything_skips_what_was_delivered() -> None:
    # f1 ends before the second request and is delivered with it; the await of "all"
    # in response 3 then waits for f2 only (a response without calls would end the run)
    plan = Plan((
        Step(1.0, (Call("f1", "grep", 0.5), Call("f2", "run_tests", 1.0))),
        Step(1.0, (Call("f3", "read_file", 1.0),)),
        Step(1.0, awaits=(Await(),)),
        Step(1.0),
    ))
    sched = simulate(plan, {"f1": 0.1, "f2": 20.0, "f3": 0.01}, "async")
    assert sched.turns[2].waited_on == "f2"
    assert sched.makespan_s == 22.0


def test_the_grace_window_holds_a_response_for_quick_results_only() -> None:
    plan = Plan((Step(1.0, (Call("f1", "grep", 1.0), Call("f2", "run_tests", 1.0))), Step(1.0)))
    quick = simulate(plan, {"f1": 0.05, "f2": 0.02}, "async", grace_s=0.1)
    assert quick.turns[0].done_s == pytest.approx(1.05)
    slow = simulate(plan, {"f1": 0.05, "f2": 5.0}, "async", grace_s=0.1)
    assert slow.turns[0].done_s == pytest.approx(1.1)


def test_the_finishing_gate_asks_again_when_futures_are_pending() -> None:
    # the model answers while f1 runs: the loop awaits it and asks once more (an empty
    # response past the end of the script, of the time to first token)
    plan = Plan((Step(1.0, (Call("f1", "run_tests", 1.0),)), Step(2.0)), empty_s=0.5)
    sched = simulate(plan, {"f1": 6.0}, "async")
    assert [(t.request_s, t.end_s) for t in sched.turns] == [(0.0, 1.0), (1.0, 3.0), (7.0, 7.5)]
    assert sched.turns[1].waited_on == "f1"
    # parallel waits for f1 within its own response instead: no gate
    assert len(simulate(plan, {"f1": 6.0}, "parallel").turns) == 2


def test_plan_from_a_script_follows_the_contract() -> None:
    script = Script.model_validate({
        "profile": {"ttft_s": 1.0, "tokens_per_s": 10.0},
        "turns": [
            {"text": "x" * 40, "think_tokens": 20, "tool_calls": [
                {"name": "run", "args": {"command": "ls"}},
                {"name": "await_futures", "args": {"ids": ["f1"], "mode": "any", "timeout_s": 5}},
                {"name": "read_file", "args": {"path": "${f1}"}},
            ]},
            {"text": "done"},
        ],
    })
    plan = plan_from_script(script)
    first = plan.steps[0]
    # tokens: think 20, text 10, run 1 + 4 ('{"command":"ls"}'), await_futures 4 + 11,
    # read_file 3 + 4; control calls take decoding time but make no future
    assert [c.fid for c in first.calls] == ["f1", "f2"]
    assert first.calls[0].close_s == pytest.approx(1.0 + (20 + 10 + 5) / 10)
    assert first.calls[1].close_s == pytest.approx(first.duration_s)
    assert first.calls[1].deps == ("f1",)
    assert first.awaits == (Await(ids=("f1",), any=True, timeout_s=5.0),)
    assert first.duration_s == pytest.approx(1.0 + (20 + 10 + 5 + 15 + 7) / 10)
    assert plan.steps[1].final and plan.empty_s == 1.0
    faster = plan_from_script(script, profile=script.profile.model_copy(update={"tokens_per_s": 0}))
    assert faster.steps[0].duration_s == 1.0


def test_measured_times_replace_the_formula() -> None:
    measured = SUITE.with_times({0: 3.0}, {"f1": 2.5})
    assert measured.steps[0].duration_s == 3.0 and measured.steps[0].calls[0].close_s == 2.5
    assert measured.steps[1] == SUITE.steps[1]
    assert simulate(measured, {"f1": 10.0}, "async").makespan_s == 13.5
