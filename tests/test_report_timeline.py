"""Timeline analysis on runs with known numbers: spans, overlap saved, critical path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asyncfc_agent.agent import events as ev
from asyncfc_agent.agent.events import Event
from asyncfc_agent.agent.timeline import (
    PathStep,
    RunTracker,
    critical_path,
    event_from_dict,
    load_events,
    model_seconds,
    overlap_saved,
    read_effects,
    summarize,
    tool_seconds,
)

from .tui_events import at, every_state, finished_run, resolved


def test_the_numbers_of_a_finished_run() -> None:
    summary = summarize(RunTracker.from_events(finished_run()))
    assert summary.wall_s == pytest.approx(7.0)  # run start (1) to the last response (8)
    assert summary.model_s == pytest.approx(2.0 + 0.9 + 1.0)
    assert summary.tool_s == pytest.approx(5.0 + 0.1)
    assert summary.saved_s == pytest.approx(3.9 + 5.1 - 7.0)
    assert (summary.requests, summary.futures) == (3, 2)


def test_the_critical_path_runs_through_the_awaited_test_suite() -> None:
    assert critical_path(RunTracker.from_events(finished_run())) == [
        PathStep("model", "turn 1", 1.0, 2.0),  # up to the moment it dispatched f1
        PathStep("future", "f1", 2.0, 7.0),
        PathStep("model", "turn 3", 7.0, 8.0),
    ]
    summary = summarize(RunTracker.from_events(finished_run()))
    assert summary.critical_model_s == pytest.approx(2.0)
    assert summary.critical_tool_s == pytest.approx(5.0)


def test_a_future_that_ended_during_decoding_is_off_the_critical_path() -> None:
    # f1 ends at 4.5, while turn 2 still decodes (until 5): turn 3 waits on turn 2 only
    events = [e for e in finished_run() if e.kind not in ("future_resolved", "future_delivered")
              or getattr(e, "future", "") == "f2"]
    events = sorted([
        *events,
        resolved(4.5, "f1", "run_tests", "resolved", 2.5, 0, exit_code=0),
    ], key=lambda e: e.t)
    for e in events:
        if isinstance(e, ev.ResponseDone) and e.turn == 2:
            e.t = 5.0
        if isinstance(e, ev.RequestSent) and e.turn == 3:
            e.t = 5.0
    path = critical_path(RunTracker.from_events(events))
    assert [s.name for s in path] == ["turn 1", "turn 2", "turn 3"]


def test_in_sync_mode_model_and_tools_alternate_and_nothing_is_saved() -> None:
    # a call's future is submitted after its response ends; the next request waits for it
    events = [
        at(0.0, ev.RunStarted("r", "t", "sync", "m", "local", "/r", "/w")),
        at(0.0, ev.RequestSent(1, 2)),
        at(1.0, ev.ResponseDone(1, "", 1, 1, 1, 0.0, 1.0, "tool_calls")),
        at(1.0, ev.FutureCreated("f1", "run_tests", {}, [], "snapshot", 1)),
        at(1.0, ev.FutureStarted("f1", 0, True)),
        resolved(3.0, "f1", "run_tests", "resolved", 2.0, 0, exit_code=0),
        at(3.0, ev.FutureDelivered("f1", "inline", 1)),
        at(3.0, ev.RequestSent(2, 4)),
        at(4.0, ev.ResponseDone(2, "done", 0, 1, 1, 0.0, 1.0, "stop")),
        at(4.0, ev.RunFinished("solved", "submitted", 4.0)),
    ]
    tracker = RunTracker.from_events(events)
    assert [(s.name, s.start, s.end) for s in critical_path(tracker)] == [
        ("turn 1", 0.0, 1.0), ("f1", 1.0, 3.0), ("turn 2", 3.0, 4.0),
    ]
    assert overlap_saved(tracker, 4.0) == 0.0


def test_a_dependent_future_continues_the_path_through_its_dependency() -> None:
    events = [
        at(0.0, ev.RequestSent(1, 2)),
        at(0.5, ev.FutureCreated("f1", "build", {}, [], "snapshot", 1)),
        at(0.5, ev.FutureStarted("f1", 0, True)),
        at(0.6, ev.FutureCreated("f2", "run", {"command": "cat ${f1}"}, ["f1"], "w:*", 1)),
        at(1.0, ev.ResponseDone(1, "", 2, 1, 1, 0.0, 1.0, "tool_calls")),
        resolved(4.0, "f1", "build", "resolved", 3.5, 0, exit_code=0),
        at(4.0, ev.FutureStarted("f2", 0, False)),
        resolved(5.0, "f2", "run", "resolved", 1.0, 0, exit_code=0),
        at(5.0, ev.RequestSent(2, 4)),
        at(6.0, ev.ResponseDone(2, "done", 0, 1, 1, 0.0, 1.0, "stop")),
    ]
    path = critical_path(RunTracker.from_events(events))
    assert [(s.name, s.start, s.end) for s in path] == [
        ("turn 1", 0.0, 0.5), ("f1", 0.5, 4.0), ("f2", 0.6, 5.0), ("turn 2", 5.0, 6.0),
    ]


def test_a_future_that_ends_after_the_last_response_ends_the_path() -> None:
    events = [*finished_run()[:-1],
              at(8.0, ev.FutureCreated("f3", "run_tests", {}, [], "snapshot", 3)),
              at(8.0, ev.FutureStarted("f3", 0, True)),
              resolved(9.5, "f3", "run_tests", "resolved", 1.5, 0, exit_code=0)]
    path = critical_path(RunTracker.from_events(events))
    assert [s.name for s in path] == ["turn 1", "f1", "turn 3", "f3"]
    assert path[-1] == PathStep("future", "f3", 8.0, 9.5)


def test_times_so_far_count_the_request_and_futures_in_flight() -> None:
    tracker = RunTracker.from_events(every_state())
    # turn 1 took 1.0 s; turn 2 is in flight since 2.2
    assert model_seconds(tracker, 6.0) == pytest.approx(1.0 + 3.8)
    # f1 running since 1.9; f2, f3, f4, f7 done; f5 never started; f6 failed unstarted
    assert tool_seconds(tracker, 6.0) == pytest.approx(4.1 + 0.05 + 0.02 + 0.9 + 1.6)
    assert overlap_saved(tracker, 6.0) == pytest.approx(4.8 + 6.67 - 5.0)
    # waiting for the first response: 1.9 s of model in 2 s since the start
    assert overlap_saved(RunTracker.from_events(every_state()[:3]), 3.0) == 0.0


def test_after_the_run_the_clock_stops_at_the_last_activity() -> None:
    tracker = RunTracker.from_events(finished_run())
    assert overlap_saved(tracker, 100.0) == pytest.approx(2.0)


def test_staleness_follows_the_rule_the_model_reads() -> None:
    tracker = RunTracker.from_events(every_state())
    f = tracker.futures
    assert f["f1"].stale_paths == {"a.py"}  # the whole tree, on rev 0
    assert f["f2"].stale_paths == {"a.py"}  # read a.py on rev 0
    assert not f["f3"].stale  # its own edit
    assert not f["f4"].stale  # ran on rev 1
    assert not f["f5"].stale  # has not run


@pytest.mark.parametrize(("described", "reads"), [
    ("snapshot", ("",)), ("r:a.py r:src w:b.py", ("a.py", "src")), ("r:*", ("",)),
    ("w:*", ()), ("none", ()),
])
def test_read_effects(described: str, reads: tuple[str, ...]) -> None:
    assert read_effects(described) == reads


def test_events_round_trip_through_a_trajectory(tmp_path: Path) -> None:
    events: list[Event] = every_state()
    path = tmp_path / "trajectory.jsonl"
    lines = [json.dumps(e.to_dict()) for e in events]
    lines += ['{"kind": "from_the_future", "t": 9}', '{"kind": "notice", "t": 1}', '{"torn']
    path.write_text("\n".join(lines))
    loaded = load_events(tmp_path)  # a run folder works as well as the file
    assert [e.to_dict() for e in loaded] == [e.to_dict() for e in events]
    assert event_from_dict({"kind": "event", "t": 0}) is None


def test_a_future_made_and_ended_within_a_few_milliseconds_of_the_first_request() -> None:
    # on a fast machine every instant of a tiny run is within the publish-order slop of the
    # next: the future cannot have held the request whose response made it
    events = [
        at(2.8662, ev.RequestSent(1, 2)),
        at(2.8704, ev.FutureCreated("f1", "read_file", {"path": "a"}, [], "r:a", 1)),
        at(2.8708, ev.FutureStarted("f1", 0, False)),
        at(2.8710, ev.FutureResolved("f1", "read_file", "resolved", None, 0.0002, 0, "[f1]")),
        at(2.8746, ev.ResponseDone(1, "", 1, 0, 0, 0.0, 0.0084)),
        at(2.8749, ev.RequestSent(2, 4)),
        at(2.8797, ev.ResponseDone(2, "done", 0, 0, 0, 0.0, 0.0048)),
    ]
    path = critical_path(RunTracker.from_events(events))
    assert [s.name for s in path] == ["turn 1", "turn 2"]
