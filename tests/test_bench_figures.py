"""The figures of the benchmark from hand-made runs: delays, head start, patch agreement,
noise, and the report's table and chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.bench import report, summary
from asyncfc_agent.bench.bounds import Call, Mode, Plan, Step
from asyncfc_agent.bench.catalog import Workload
from asyncfc_agent.bench.measure import (
    FutureTiming,
    RunRecord,
    TurnTiming,
    dispatch_delays,
    head_start_s,
)


def run(mode: Mode, futures: list[FutureTiming], patch: str = "p", wall: float = 10.0,
        status: str = "solved") -> RunRecord:
    turns = [TurnTiming(1, 0.0, 2.0, 2.5, False), TurnTiming(2, 2.5, 4.0, None, False)]
    return RunRecord(
        workload="w", mode=mode, repeat=0, status=status, exit_reason="submitted", error=None,
        wall_s=wall, setup_s=1.0, teardown_s=0.1, loop_s=wall + 0.1, turns=turns,
        futures=futures, patch=patch, out_dir="",
    )


def fut(fid: str, close: float, start: float, end: float, deps: list[str] | None = None,
        turn: int = 1) -> FutureTiming:
    return FutureTiming(fid, "run", turn, close, start, end, deps or [])


def test_dispatch_delay_is_measured_from_when_the_mode_allows_a_start() -> None:
    futures = [fut("f1", 1.0, 1.01, 5.0), fut("f2", 1.5, 5.02, 6.0, deps=["f1"])]
    assert dispatch_delays(run("async", futures)) == pytest.approx([0.01, 0.02])
    # parallel: the response ended at 2.0
    par = [fut("f1", 1.0, 2.03, 5.0), fut("f2", 1.5, 2.04, 3.0)]
    assert dispatch_delays(run("parallel", par)) == pytest.approx([0.03, 0.04])
    # sync: f2 may start when f1 has ended
    seq = [fut("f1", 1.0, 2.03, 5.0), fut("f2", 1.5, 5.01, 6.0)]
    assert dispatch_delays(run("sync", seq)) == pytest.approx([0.03, 0.01])


def test_head_start_counts_tool_time_during_the_response_that_issued_it() -> None:
    # response 1 ends at 2.0: f1 ran 1.0 s of it, f2 ended within it (0.3 s)
    futures = [fut("f1", 1.0, 1.0, 9.0), fut("f2", 1.5, 1.5, 1.8), fut("f3", 3.0, 3.0, 3.5, turn=2)]
    assert head_start_s(run("async", futures)) == pytest.approx(1.0 + 0.3 + 0.5)


def test_patches_must_agree_across_runs() -> None:
    runs = [run("sync", [], "a"), run("parallel", [], "a"), run("async", [], "b")]
    check = summary.patch_check(runs)
    assert not check["agree"] and check["differ_from_first"] == ["async #1"]
    assert summary.patch_check(runs[:2])["agree"]
    assert summary.patch_check([run("sync", [], "")])["empty"]


def test_noise_tolerance_has_a_floor_and_follows_the_spread() -> None:
    assert summary.tolerance([10.0], [10.0]) == pytest.approx(summary.NOISE_SHARE * 10.0 + 0.0, abs=0.25)
    assert summary.tolerance([1.0], [1.0]) == summary.NOISE_FLOOR_S
    assert summary.tolerance([10.0, 14.0], [10.0]) == pytest.approx(2.0)


def test_tool_noise_is_what_other_durations_would_change() -> None:
    plan = Plan((Step(1.0, (Call("f1", "run_tests", 1.0),)), Step(1.0)))
    slow = [run("parallel", [fut("f1", 1.0, 1.0, 4.0)])]  # 3 s
    quick = [run("sync", [fut("f1", 1.0, 1.0, 3.0)])]  # 2 s
    assert summary.tool_noise(plan, "parallel", slow, quick) == pytest.approx(1.0)
    assert summary.tolerance([5.0], [4.0], 1.0) == 1.0


def figures(lower_bound_s: float) -> dict[str, Any]:
    """What the runner measures of a run, beside the record itself."""
    overhead = {"requests_s": 0.1, "grace_s": 0.0, "other_s": 0.0, "total_s": 0.1}
    return {"lower_bound_s": lower_bound_s, "ideal_s": lower_bound_s, "overhead": overhead,
            "between_turns": {"await_s": 0.0, "other_s": 0.0}, "dispatch_delays_s": [0.002],
            "head_start_s": 0.5, "snapshot_s": [0.01], "model_script_s": 4.0, "critical_path": []}


def test_speedups_and_efficiency_are_ratios_of_the_medians(tmp_path: Path) -> None:
    walls = {"sync": [21.0, 30.0, 20.0], "parallel": [14.0, 15.0, 16.0], "async": [12.0, 8.0, 10.0]}
    runs = []
    for mode, mode_walls in walls.items():
        for i, wall in enumerate(mode_walls):
            record = run(mode, [fut("f1", 1.0, 1.0, 3.0)], wall=wall)  # type: ignore[arg-type]
            record.repeat, record.figures = i, figures(lower_bound_s=7.0 + i)
            runs.append(record)
    workload = Workload("w", tmp_path, "", "", tmp_path / "s.yaml", tmp_path,
                        targets={"speedup_vs_sync": 2.0, "efficiency": 0.9})
    plan = Plan((Step(1.0, (Call("f1", "run", 2.0),)), Step(1.0)))
    w = summary.workload_report(workload, runs, plan, scale=1.0)
    # medians: sync 21, parallel 15, async 10; the async runs' bounds 7, 8, 9: median 8
    assert [w["modes"][m]["median_s"] for m in ("sync", "parallel", "async")] == [21.0, 15.0, 10.0]
    assert (w["speedup_vs_sync"], w["speedup_vs_parallel"], w["parallel_vs_sync"]) == (2.1, 1.5, 1.4)
    assert (w["lower_bound_s"], w["efficiency"]) == (8.0, 0.8)
    assert w["early_dispatch"]["saved_vs_parallel_s"] == 5.0
    assert w["targets"] == {"speedup_vs_sync": {"target": 2.0, "value": 2.1, "met": True},
                            "efficiency": {"target": 0.9, "value": 0.8, "met": False}}


def fake_report(agree: bool = True, faster: bool = True) -> dict[str, Any]:
    mode = {"median_s": 10.0, "setup_s": 1.0, "status": ["solved"], "wall_s": [10.0]}
    modes = {"sync": {**mode, "median_s": 20.0}, "parallel": {**mode, "median_s": 15.0},
             "async": {**mode, "median_s": 10.0 if faster else 16.0}}
    return {
        "sandbox": "docker", "profile": {"name": "fast", "ttft_s": 0.5, "tokens_per_s": 100.0},
        "repeat": 3, "quick": False,
        "workloads": [{
            "name": "long-tests", "modes": modes, "lower_bound_s": 9.5,
            "speedup_vs_sync": 2.0, "speedup_vs_parallel": 1.5, "efficiency": 0.95,
            "lower_bound": {"model_s": 8.0}, "model_idle_s": {"sync": 12.0, "parallel": 7.0, "async": 2.0},
            "early_dispatch": {"head_start_s": 1.2, "saved_vs_parallel_s": 5.0},
            "dispatch_delay_ms": {"median": 0.5, "p90": 2.0}, "snapshot_ms": {"median": 12.0},
            "async_overhead_s": {"requests_s": 0.2, "grace_s": 0.1, "other_s": 0.05},
            "patches": {"agree": agree, "empty": False, "sha": {}},
            "checks": {"async_not_slower_than_parallel": faster, "async_vs_parallel_tolerance_s": 0.5,
                       "same_status_in_every_run": True},
            "targets": {"speedup_vs_sync": {"target": 2.0, "value": 2.0, "met": True},
                        "efficiency": {"target": 0.96, "value": 0.95, "met": False}},
        }],
    }


def test_the_table_shows_medians_speedups_and_verdicts() -> None:
    text = report.render(fake_report())
    assert "docker sandbox, profile fast (first token 0.5 s, 100 tokens/s); median of 3 runs" in text
    row = next(line for line in text.splitlines() if line.startswith("long-tests") and "x" in line)
    # no plain async runs in this report: its column and ratio are dashes
    assert row.split() == ["long-tests", "20.0", "s", "15.0", "s", "-", "10.0", "s", "9.5", "s",
                           "2.00x", "1.50x", "-", "0.95", "same"]
    assert "long-tests: speedup_vs_sync 2.00 (target 2): met" in text
    assert "long-tests: efficiency 0.95 (target 0.96): MISSED" in text
    quick = report.render({**fake_report(), "quick": True})
    assert "long-tests: efficiency 0.95 (target 0.96): missed in a quick run" in quick
    bad = report.render(fake_report(agree=False, faster=False))
    assert "DIFFER" in bad and "async not slower than parallel: NO (beyond 0.5 s of noise)" in bad


def test_failures_are_broken_runs_and_disagreements_not_figures() -> None:
    assert summary.failures(fake_report(faster=False)) == []
    assert summary.failures(fake_report(agree=False)) == [
        "long-tests: the patches differ between runs ({})"]


def test_the_chart_has_a_bar_per_mode_and_the_bound() -> None:
    svg = report.svg(fake_report())
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for title in ("sync: 20.00 s", "parallel: 15.00 s", "async: 10.00 s", "lower bound: 9.50 s"):
        assert f"<title>{title}</title>" in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.parametrize("value, axis", [(3.0, (3.0, 1.0, 3)), (9.5, (10, 2, 5)), (41.0, (50, 10, 5)),
                                         (86.0, (100, 20, 5))])
def test_chart_axes_are_round(value: float, axis: tuple[float, float, int]) -> None:
    assert report._axis(value) == axis


def test_the_features_breakdown_counts_what_each_mechanism_saved() -> None:
    from asyncfc_agent.agent import events as ev
    from asyncfc_agent.agent.timeline import RunTracker
    from asyncfc_agent.bench.features import feature_figures

    def at(t: float, e: ev.Event) -> ev.Event:
        e.t = t
        return e

    events = [
        at(0.0, ev.RequestSent(1, 2)),
        at(0.5, ev.FutureCreated("f1", "run_tests", {}, [], "snapshot", 1)),
        at(0.5, ev.FutureStarted("f1", 0, True)),
        at(1.0, ev.ResponseDone(1, "", 1, 0, 0, 0.0, 1.0)),
        at(1.0, ev.RequestSent(2, 4)),
        at(1.5, ev.CallClosed(2, "c2", "await_futures", '{"ids": ["f1"], "until": "first_failure"}')),
        at(2.0, ev.ResponseDone(2, "", 1, 0, 0, 0.0, 1.0)),
        at(3.0, ev.RequestSent(3, 6)),  # woken at a failure: f1 runs on until 9.0
        at(3.5, ev.FutureCreated("f2", "edit_file", {}, [], "w:a.py", 3)),
        at(3.6, ev.FutureCreated("s1", "run_tests", {}, [], "snapshot", 3, speculative=True)),
        at(3.6, ev.FutureStarted("s1", 1, True)),
        at(4.0, ev.FutureCreated("s2", "build", {}, [], "snapshot", 3, speculative=True)),
        at(4.0, ev.FutureStarted("s2", 1, True)),
        at(4.5, ev.FutureResolved("s2", "build", "cancelled", None, 0.5, 1, "")),
        at(6.0, ev.FutureCreated("f3", "run_tests", {}, [], "snapshot", 4)),
        at(6.0, ev.FutureStarted("f3", 1, True)),
        at(6.0, ev.FutureJoined("f3", "s1", True, False, 2.4)),
        at(7.0, ev.FutureCreated("f4", "run_tests", {}, [], "snapshot", 4)),
        at(7.0, ev.FutureStarted("f4", 1, True)),
        at(7.0, ev.FutureJoined("f4", "f3", False, False, 1.0)),
        at(8.0, ev.FutureResolved("s1", "run_tests", "resolved", 0, 4.4, 1, "")),
        at(9.0, ev.FutureResolved("f1", "run_tests", "resolved", 1, 8.5, 0, "")),
    ]
    figures = feature_figures(events, RunTracker.from_events(events))
    assert figures == {
        "memo_hits": 1, "memo_saved_s": 1.0,
        "speculative_started": 2, "speculative_joins": 1, "speculative_saved_s": 2.4,
        "speculative_unused_s": 0.5,
        "early_wakeups": 1, "early_wakeup_saved_s": 6.0,
    }
