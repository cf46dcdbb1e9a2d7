"""What one run measured, from its event stream and its result.

Times are seconds from the run's first request to the model, on the run's own clock
(the event bus's). The wall time of the benchmark is the agent loop: from that first
request to the end of the model's last response. Set-up before it (work area, sandbox,
model warm-up) and the wrap-up after it (commit, patch, closing the sandbox) are kept
apart, since they are the same in every mode and are not what the modes change.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..agent.events import CallClosed, Event
from ..agent.timeline import RunTracker, critical_path
from .bounds import AWAIT, CANCEL, Mode, Plan, loop_mode, lower_bound, simulate
from .features import feature_figures


@dataclass
class TurnTiming:
    turn: int  # 1-based, as the loop counts
    request_s: float
    end_s: float  # the response ended
    next_s: float | None  # the next request went out (None for the last response)
    awaits: bool  # the response called await_futures


@dataclass
class FutureTiming:
    id: str
    tool: str
    turn: int
    close_s: float | None  # its call closed in the stream
    start_s: float | None
    end_s: float | None
    deps: list[str] = field(default_factory=list)
    snapshot_s: float | None = None  # taking the snapshot, for whole-workspace readers

    @property
    def duration_s(self) -> float:
        if self.start_s is None or self.end_s is None:
            return 0.0
        return self.end_s - self.start_s


@dataclass
class RunRecord:
    workload: str
    mode: Mode
    repeat: int
    status: str
    exit_reason: str
    error: str | None
    wall_s: float  # first request to the end of the last response
    setup_s: float  # fresh repository, work area, sandbox, until the first request
    teardown_s: float  # after the last response until the run was recorded
    loop_s: float | None  # the session's own figure (first request to the end of wrap-up)
    turns: list[TurnTiming]
    futures: list[FutureTiming]
    patch: str
    out_dir: str
    #: The run's own critical path, as measured (the report command's reading of it).
    measured_path: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    #: Memo hits, speculative joins, early wake-ups and what each saved (bench/features.py).
    features: dict[str, float] = field(default_factory=dict)

    @property
    def model_s(self) -> float:
        return sum(t.end_s - t.request_s for t in self.turns)

    @property
    def tool_s(self) -> float:
        return sum(f.duration_s for f in self.futures)

    def durations(self) -> dict[str, float]:
        return {f.id: f.duration_s for f in self.futures}


def record_run(
    *,
    workload: str,
    mode: Mode,
    repeat: int,
    events: list[Event],
    result: Mapping[str, Any],
    status: str,
    exit_reason: str,
    patch: str,
    out_dir: str,
    repo_s: float,
) -> RunRecord:
    """A run's timings from its events, folded as the live view and the report fold them."""
    tracker = RunTracker.from_events(events)
    requests = [r for r in tracker.requests if r.done_t is not None]
    t0 = requests[0].sent_t if requests else 0.0
    end = requests[-1].done_t if requests and requests[-1].done_t is not None else t0
    closed = [e for e in events if isinstance(e, CallClosed) and e.error is None]
    awaiting = {e.turn for e in closed if e.name == AWAIT}
    turns = []
    for i, r in enumerate(requests):
        assert r.done_t is not None
        nxt = requests[i + 1].sent_t - t0 if i + 1 < len(requests) else None
        turns.append(TurnTiming(r.turn, r.sent_t - t0, r.done_t - t0, nxt, r.turn in awaiting))
    closes = _close_times(closed, tracker)
    futures = []
    for f in tracker.futures.values():
        # the future's own start is before its snapshot; FutureStarted comes after it
        start = f.ended_t - f.duration_s if f.ended_t is not None and f.duration_s is not None else None
        snap = f.started_t - start if f.snapshot and f.started_t is not None and start is not None else None
        futures.append(FutureTiming(
            id=f.id, tool=f.tool, turn=f.turn,
            close_s=None if f.id not in closes else closes[f.id] - t0,
            start_s=None if start is None else start - t0,
            end_s=None if f.ended_t is None else f.ended_t - t0,
            deps=list(f.deps),
            snapshot_s=None if snap is None else max(0.0, snap),
        ))
    return RunRecord(
        workload=workload,
        mode=mode,
        repeat=repeat,
        status=status,
        exit_reason=exit_reason,
        error=result.get("error"),
        wall_s=end - t0,
        setup_s=repo_s + t0,
        teardown_s=(tracker.finished.t - end) if tracker.finished is not None else 0.0,
        loop_s=result.get("loop_s"),
        turns=turns,
        futures=futures,
        patch=patch,
        out_dir=out_dir,
        features=feature_figures(events, tracker),
        measured_path=[
            {"kind": s.kind, "what": s.name, "start_s": round(s.start - t0, 3), "seconds": round(s.seconds, 3)}
            for s in critical_path(tracker)
        ],
    )


def _close_times(closed: list[CallClosed], tracker: RunTracker) -> dict[str, float]:
    """When each future's call closed. In async mode the call names its future; in the
    other modes a turn's repository calls and its futures match in order."""
    out = {e.future: e.t for e in closed if e.future is not None}
    unnamed: dict[int, list[float]] = {}
    for e in closed:
        if e.future is None and e.name not in (AWAIT, CANCEL):
            unnamed.setdefault(e.turn, []).append(e.t)
    for turn, times in unnamed.items():
        ids = [f.id for f in tracker.futures.values() if f.turn == turn and f.id not in out]
        out.update(zip(ids, times, strict=False))
    return out


# --- figures of one run ------------------------------------------------------------------


def dispatch_delays(run: RunRecord) -> list[float]:
    """Seconds from the moment the mode allows a future to start to its start, per future:
    async, when its call closed; parallel, when its response ended; sync, when the call
    before it in the response ended too. Dependencies hold a start back in every mode."""
    ends = {f.id: f.end_s for f in run.futures}
    response_end = {t.turn: t.end_s for t in run.turns}
    previous: dict[int, float] = {}  # sync: the end of the turn's previous future
    out = []
    for f in sorted(run.futures, key=lambda f: int(f.id[1:]) if f.id[1:].isdigit() else 0):
        if f.close_s is None or f.start_s is None:
            continue
        ready = [f.close_s, *[e for d in f.deps if (e := ends.get(d)) is not None]]
        if loop_mode(run.mode) != "async" and f.turn in response_end:
            ready.append(response_end[f.turn])
        if run.mode == "sync" and f.turn in previous:
            ready.append(previous[f.turn])
        out.append(max(0.0, f.start_s - max(ready)))
        if f.end_s is not None:
            previous[f.turn] = f.end_s
    return out


def head_start_s(run: RunRecord) -> float:
    """Tool time that ran while the response that issued it was still streaming: what
    dispatching at the close of a call gains over dispatching at the end of a response."""
    ends = {t.turn: t.end_s for t in run.turns}
    total = 0.0
    for f in run.futures:
        resp_end = ends.get(f.turn)
        if f.start_s is None or f.end_s is None or resp_end is None:
            continue
        total += max(0.0, min(resp_end, f.end_s) - f.start_s)
    return total


def measured_plan(plan: Plan, run: RunRecord) -> Plan:
    """``plan`` with this run's response durations and call close times."""
    durations = {t.turn - 1: t.end_s - t.request_s for t in run.turns}
    starts = {t.turn: t.request_s for t in run.turns}
    closes = {
        f.id: f.close_s - starts[f.turn]
        for f in run.futures if f.close_s is not None and f.turn in starts
    }
    return plan.with_times(durations, closes)


def analyse(run: RunRecord, plan: Plan, *, grace_s: float) -> dict[str, Any]:
    """The per-run figures: the bound, the ideal of the run's own mode, and where the
    rest of the time went."""
    mode = loop_mode(run.mode)
    durations = run.durations()
    bound = lower_bound(plan, durations)
    ideal = simulate(plan, durations, mode).makespan_s
    with_requests = simulate(measured_plan(plan, run), durations, mode).makespan_s
    with_grace = (
        simulate(measured_plan(plan, run), durations, mode, grace_s=grace_s).makespan_s
        if mode == "async" else with_requests
    )
    delays = dispatch_delays(run)
    snaps = [f.snapshot_s for f in run.futures if f.snapshot_s is not None]
    gaps = [(t.awaits, t.next_s - t.end_s) for t in run.turns if t.next_s is not None]
    return {
        "lower_bound_s": bound.lower_bound_s,
        "model_script_s": bound.model_s,
        "critical_path": [
            {"kind": s.kind, "what": s.label, "start_s": round(s.start_s, 3), "seconds": round(s.seconds, 3)}
            for s in bound.path
        ],
        "ideal_s": ideal,
        "model_s": run.model_s,
        "model_idle_s": run.wall_s - run.model_s,
        "tool_s": run.tool_s,
        "overhead": {
            # responses took longer than the script's formula (request set-up, streaming)
            "requests_s": with_requests - ideal,
            # the loop held a response's results for the grace window
            "grace_s": with_grace - with_requests,
            # everything else: dispatch, snapshots, delivery, the loop between turns
            "other_s": run.wall_s - with_grace,
            "total_s": run.wall_s - ideal,
        },
        # the model idle between a response and the next request: in await_futures, or
        # otherwise (the turn's own calls in sync and parallel mode, the grace window)
        "between_turns": {
            "await_s": sum(g for awaited, g in gaps if awaited),
            "other_s": sum(g for awaited, g in gaps if not awaited),
        },
        "dispatch_delays_s": delays,
        "snapshot_s": snaps,
        "head_start_s": head_start_s(run) if mode == "async" else 0.0,
    }


def median(values: Iterable[float]) -> float:
    vals = list(values)
    return statistics.median(vals) if vals else 0.0
