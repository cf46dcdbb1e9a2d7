"""A run as spans on a time line, folded from its events.

The live view feeds a ``RunTracker`` (agent/tracker.py) each event as it is published; the
report feeds it a trajectory file. Both then read the same numbers from here: per-future
spans, model request spans (agent/spans.py), the time the overlap saved, and the critical
path.

Times are seconds since the run's bus started (the ``t`` of every event).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .events import Event
from .spans import FutureSpan, PathStep, RequestSpan, read_effects
from .tracker import RunTracker
from .trajectory import read_trajectory

# the spans and the tracker are read through this module by the views and the benchmark
__all__ = [
    "FutureSpan", "PathStep", "RequestSpan", "RunTracker", "Summary", "critical_path",
    "event_from_dict", "load_events", "model_seconds", "overlap_saved", "read_effects",
    "speculative_seconds", "summarize", "tool_seconds", "trajectory_path",
]

#: Seconds within which two instants count as the same (publish order jitter).
EPSILON = 0.005


# -- reading trajectories ------------------------------------------------------------


def _event_classes() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    pending: list[type[Event]] = [Event]
    while pending:
        cls = pending.pop()
        found[cls.kind] = cls
        pending.extend(cls.__subclasses__())
    return found


def event_from_dict(record: dict[str, Any]) -> Event | None:
    """The typed event of a trajectory line; None for a kind or shape this version lacks."""
    cls = _event_classes().get(str(record.get("kind")))
    if cls is None or cls is Event:
        return None
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    try:
        event = cls(**{k: v for k, v in record.items() if k in names})
    except TypeError:
        return None
    event.t = float(record.get("t", 0.0))
    return event


def trajectory_path(path: Path) -> Path:
    """A trajectory file, given it or the run folder holding it."""
    return path / "trajectory.jsonl" if path.is_dir() else path


def load_events(path: Path) -> list[Event]:
    records = read_trajectory(trajectory_path(path))
    return [e for e in map(event_from_dict, records) if e is not None]


# -- analysis ------------------------------------------------------------------------


def model_seconds(tracker: RunTracker, now: float) -> float:
    """Time the model spent on requests, the one in flight counted up to ``now``."""
    now = tracker.clock(now)
    return sum(max(0.0, r.end(now) - r.sent_t) for r in list(tracker.requests))


def tool_seconds(tracker: RunTracker, now: float) -> float:
    """Run time of every future, the running ones counted up to ``now``."""
    now = tracker.clock(now)
    return sum(f.seconds(now) for f in list(tracker.futures.values()) if f.started_t is not None)


def speculative_seconds(tracker: RunTracker, now: float) -> float:
    """Run time of the runs started ahead of the model (apart from ``tool_seconds``)."""
    now = tracker.clock(now)
    return sum(f.seconds(now) for f in list(tracker.speculative.values()) if f.started_t is not None)


def overlap_saved(tracker: RunTracker, now: float) -> float:
    """Seconds saved against running each call synchronously, after the model turn.

    Synchronously, model time and tool time would add up; here they overlap. So the
    saving is model time + tool time - the time since the run started, never negative.
    """
    now = tracker.clock(now)
    busy = model_seconds(tracker, now) + tool_seconds(tracker, now)
    return max(0.0, busy - max(0.0, now - tracker.origin))


def critical_path(tracker: RunTracker) -> list[PathStep]:
    """The chain of model requests and futures that set the run's length, in time order.

    Walking back from whatever ended last: a request waited on the previous response
    or on a future that ended in the gap between them (an await, or the grace window);
    a future waited on a dependency that ended after its dispatch, or else on the
    request whose stream dispatched it.
    """
    requests = [r for r in tracker.requests if r.done_t is not None]
    if not requests:
        return []
    futures = [f for f in tracker.futures.values() if f.ended_t is not None]
    steps: list[PathStep] = []
    node: RequestSpan | FutureSpan = requests[-1]
    end = requests[-1].end(tracker.last_t)
    last_future = max(futures, key=lambda f: f.ended_t or 0.0, default=None)
    if last_future is not None and (last_future.ended_t or 0.0) > end + EPSILON:
        node, end = last_future, last_future.ended_t or 0.0
    seen: set[int] = set()
    while id(node) not in seen:  # each step goes back in time; a tie must not loop
        seen.add(id(node))
        if isinstance(node, RequestSpan):
            steps.append(PathStep("model", f"turn {node.turn}", node.sent_t, end))
            found = _before_request(node, requests, futures)
        else:
            steps.append(PathStep("future", node.id, node.created_t, end))
            found = _before_future(node, requests, tracker.futures)
        if found is None:
            break
        node, end = found
    return steps[::-1]


def _before_request(
    request: RequestSpan, requests: list[RequestSpan], futures: list[FutureSpan]
) -> tuple[RequestSpan | FutureSpan, float] | None:
    index = requests.index(request)
    previous = requests[index - 1] if index > 0 else None
    gap_start = previous.end(request.sent_t) if previous is not None else float("-inf")
    blockers = [  # a future made after the request was sent cannot have held it
        f for f in futures
        if f.ended_t is not None and f.created_t < request.sent_t
        and gap_start + EPSILON < f.ended_t <= request.sent_t + EPSILON
    ]
    if blockers:
        last = max(blockers, key=lambda f: f.ended_t or 0.0)
        return last, last.ended_t or 0.0
    if previous is not None:
        return previous, previous.end(request.sent_t)
    return None


def _before_future(
    future: FutureSpan, requests: list[RequestSpan], futures: dict[str, FutureSpan]
) -> tuple[RequestSpan | FutureSpan, float] | None:
    deps = [futures[d] for d in future.deps if d in futures and futures[d].ended_t is not None]
    late = [d for d in deps if (d.ended_t or 0.0) > future.created_t + EPSILON]
    if late:
        last = max(late, key=lambda f: f.ended_t or 0.0)
        return last, last.ended_t or 0.0
    sources = [r for r in requests if r.turn == future.turn and r.sent_t <= future.created_t + EPSILON]
    if not sources:
        return None
    source = sources[-1]
    return source, min(future.created_t, source.end(future.created_t))


@dataclass(frozen=True)
class Summary:
    """The headline numbers of a run (for the report, the summary and the benchmark)."""

    wall_s: float  # the agent's own time: from the run's start to the end of its activity
    model_s: float
    tool_s: float
    saved_s: float
    requests: int
    futures: int
    critical_path: tuple[PathStep, ...]
    #: Runs started ahead of the model after edits: their time, how many, how many of
    #: them a call of the model joined.
    speculative_s: float = 0.0
    speculative: int = 0
    speculative_joined: int = 0

    @property
    def critical_model_s(self) -> float:
        return sum(s.seconds for s in self.critical_path if s.kind == "model")

    @property
    def critical_tool_s(self) -> float:
        return sum(s.seconds for s in self.critical_path if s.kind == "future")


def summarize(tracker: RunTracker) -> Summary:
    end = tracker.activity_end()
    return Summary(
        wall_s=max(0.0, end - tracker.origin),
        model_s=model_seconds(tracker, end),
        tool_s=tool_seconds(tracker, end),
        saved_s=overlap_saved(tracker, end),
        requests=len(tracker.requests),
        futures=len(tracker.futures),
        critical_path=tuple(critical_path(tracker)),
        speculative_s=speculative_seconds(tracker, end),
        speculative=len(tracker.speculative),
        speculative_joined=sum(1 for f in tracker.speculative.values() if f.joiners),
    )
