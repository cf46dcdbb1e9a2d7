"""A run as spans on a time line, folded from its events.

The live view feeds a ``RunTracker`` each event as it is published; the report feeds it a
trajectory file. Both then read the same numbers: per-future spans, model request spans,
the time the overlap saved, and the critical path. Nothing here prints or blocks, so the
tracker is cheap enough to sit on the event bus.

Times are seconds since the run's bus started (the ``t`` of every event).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..tools.base import WHOLE, paths_overlap
from .events import (
    CallClosed,
    ContextCompacted,
    Event,
    FirstToken,
    FutureCreated,
    FutureDelivered,
    FutureOutput,
    FutureResolved,
    FutureStarted,
    HandleReturned,
    ModelRetry,
    Notice,
    RequestSent,
    ResponseDone,
    RunFinished,
    RunStarted,
    TextDelta,
    WakeUp,
    WorkspaceEdited,
)
from .trajectory import read_trajectory

#: Seconds within which two instants count as the same (publish order jitter).
EPSILON = 0.005
#: Terminal escape sequences and control characters, which would garble a view.
CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: str) -> str:
    """``text`` without escape sequences or control characters (tabs and newlines stay)."""
    return CONTROL.sub("", text)


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


def read_effects(described: str) -> tuple[str, ...]:
    """The paths a future reads, from ``Effects.describe()`` (``WHOLE`` for everything)."""
    if described == "snapshot":
        return (WHOLE,)
    reads = [token[2:] for token in described.split() if token.startswith("r:")]
    return tuple(WHOLE if p == "*" else p for p in reads)


# -- the spans -----------------------------------------------------------------------


@dataclass
class FutureSpan:
    """One future from dispatch to its final state, and what the model saw of it."""

    id: str
    tool: str
    args: dict[str, Any]
    deps: list[str]
    turn: int
    created_t: float
    reads: tuple[str, ...] = ()
    started_t: float | None = None
    workspace_rev: int | None = None
    snapshot: bool = False
    ended_t: float | None = None
    status: str | None = None  # the final state; None while it waits or runs
    exit_code: int | None = None
    duration_s: float | None = None
    error: str = ""  # first line of why it failed, was cancelled or timed out
    last_line: str = ""  # last non-blank line of its output so far
    handle_t: float | None = None  # the model got a handle (it was still running)
    delivered_t: float | None = None  # the model got its result
    delivered_via: str | None = None
    stale_paths: set[str] = field(default_factory=set)

    @property
    def state(self) -> str:
        """``waiting``, ``running``, or the final state (``resolved``, ``timed out``, ...)."""
        if self.status is not None:
            return self.status
        return "waiting" if self.started_t is None else "running"

    @property
    def final(self) -> bool:
        return self.status is not None

    @property
    def stale(self) -> bool:
        return bool(self.stale_paths)

    def seconds(self, now: float) -> float:
        """Run time: total when final, elapsed when running, time waited when waiting."""
        if self.duration_s is not None:
            return self.duration_s
        if self.started_t is None:
            return max(0.0, now - self.created_t)
        return max(0.0, now - self.started_t)

    @property
    def seen(self) -> str:
        """What the model has of it: ``seen`` (its result), ``handle``, or ``unseen``."""
        if self.delivered_t is not None:
            return "seen"
        if self.handle_t is not None:
            return "handle"
        return "unseen" if self.final else ""


@dataclass
class RequestSpan:
    """One model request, from sending it to the end of its response."""

    turn: int
    sent_t: float
    first_token_t: float | None = None
    done_t: float | None = None
    chunks: list[str] = field(default_factory=list)  # streamed text, as it came
    text: str | None = None  # the whole text, once the response is done
    calls: int = 0
    calls_closed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    retries: int = 0
    finish_reason: str | None = None
    tokens: int = 0  # the request's size by the agent's count
    budget: int = 0  # the most it could take
    woke: list[str] = field(default_factory=list)  # it starts a wake-up turn: these results

    @property
    def label(self) -> str:
        return f"turn {self.turn} (wake-up: {', '.join(self.woke)})" if self.woke else f"turn {self.turn}"

    def streamed(self) -> str:
        # list() copies in one step, so a reader on another thread never sees it change
        return self.text if self.text is not None else "".join(list(self.chunks))

    def end(self, now: float) -> float:
        return self.done_t if self.done_t is not None else now


@dataclass(frozen=True)
class PathStep:
    """A stretch of the critical path: part of a model request, or of a future."""

    kind: str  # "model" or "future"
    name: str  # "turn 3" or the future's id
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


# -- the tracker ---------------------------------------------------------------------


class RunTracker:
    """The state of a run, folded from its events one at a time."""

    def __init__(self) -> None:
        self.run: RunStarted | None = None
        self.finished: RunFinished | None = None
        self.requests: list[RequestSpan] = []
        self.futures: dict[str, FutureSpan] = {}
        self.notices: list[Notice] = []
        self.compactions: list[ContextCompacted] = []
        self.wakes: dict[int, WakeUp] = {}  # by the model response that starts the wake-up
        self.revision = 0
        self.last_t = 0.0
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            RunStarted: self._run_started,
            RequestSent: self._request_sent,
            FirstToken: self._first_token,
            TextDelta: self._text,
            CallClosed: self._call_closed,
            ResponseDone: self._response_done,
            ModelRetry: self._retry,
            FutureCreated: self._future_created,
            FutureStarted: self._future_started,
            FutureOutput: self._future_output,
            FutureResolved: self._future_resolved,
            FutureDelivered: self._future_delivered,
            HandleReturned: self._handle_returned,
            WorkspaceEdited: self._workspace_edited,
            Notice: self.notices.append,
            ContextCompacted: self.compactions.append,
            WakeUp: self._wake_up,
            RunFinished: self._run_finished,
        }

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> RunTracker:
        tracker = cls()
        for event in events:
            tracker.apply(event)
        return tracker

    def __call__(self, event: Event) -> None:
        self.apply(event)

    def apply(self, event: Event) -> None:
        self.last_t = max(self.last_t, event.t)
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    # -- handlers --------------------------------------------------------------------

    def _run_started(self, e: RunStarted) -> None:
        self.run = e

    def _run_finished(self, e: RunFinished) -> None:
        self.finished = e

    def _request_sent(self, e: RequestSent) -> None:
        wake = self.wakes.get(e.turn)
        self.requests.append(RequestSpan(e.turn, e.t, woke=list(wake.futures) if wake else [],
                                         tokens=e.tokens, budget=e.budget))

    def _wake_up(self, e: WakeUp) -> None:
        self.wakes[e.turn] = e

    def _request(self, turn: int) -> RequestSpan | None:
        for request in reversed(self.requests):
            if request.turn == turn:
                return request
        return None

    def _first_token(self, e: FirstToken) -> None:
        if (r := self._request(e.turn)) is not None and r.first_token_t is None:
            r.first_token_t = e.t

    def _text(self, e: TextDelta) -> None:
        if (r := self._request(e.turn)) is not None:
            r.chunks.append(e.text)

    def _call_closed(self, e: CallClosed) -> None:
        if (r := self._request(e.turn)) is not None:
            r.calls_closed += 1

    def _retry(self, e: ModelRetry) -> None:
        if (r := self._request(e.turn)) is not None:
            r.retries += 1
            r.chunks = []  # a retried stream starts over

    def _response_done(self, e: ResponseDone) -> None:
        r = self._request(e.turn)
        if r is None:
            return
        r.done_t, r.text, r.calls = e.t, e.text, e.calls
        r.prompt_tokens, r.completion_tokens = e.prompt_tokens, e.completion_tokens
        r.cost_usd, r.finish_reason = e.cost_usd, e.finish_reason

    def _future_created(self, e: FutureCreated) -> None:
        self.futures[e.future] = FutureSpan(
            e.future, e.tool, e.args, e.deps, e.turn, e.t, read_effects(e.effects)
        )

    def _future_started(self, e: FutureStarted) -> None:
        if (f := self.futures.get(e.future)) is not None:
            f.started_t, f.workspace_rev, f.snapshot = e.t, e.workspace_rev, e.snapshot

    def _future_output(self, e: FutureOutput) -> None:
        f = self.futures.get(e.future)
        if f is None:
            return
        # the last line is near the end: a chatty command's batch need not be split whole
        for line in reversed(e.text[-4096:].splitlines()):
            if clean := " ".join(printable(line).split()):  # tabs would break columns
                f.last_line = clean
                return

    def _future_resolved(self, e: FutureResolved) -> None:
        f = self.futures.get(e.future)
        if f is None:
            return
        f.ended_t, f.status, f.exit_code = e.t, e.status, e.exit_code
        f.duration_s, f.workspace_rev = e.duration_s, e.workspace_rev
        if e.status != "resolved":
            # the result is a header line, then the reason
            body = e.result.split("\n", 1)[-1].strip()
            f.error = printable(body.splitlines()[0]) if body else e.status

    def _future_delivered(self, e: FutureDelivered) -> None:
        if (f := self.futures.get(e.future)) is not None and f.delivered_t is None:
            f.delivered_t, f.delivered_via = e.t, e.via

    def _handle_returned(self, e: HandleReturned) -> None:
        if (f := self.futures.get(e.future)) is not None and f.handle_t is None:
            f.handle_t = e.t

    def _workspace_edited(self, e: WorkspaceEdited) -> None:
        # the same rule as the result headers the model reads (protocol.stale_paths)
        self.revision = max(self.revision, e.revision)
        for f in self.futures.values():
            if f.workspace_rev is None or e.revision <= f.workspace_rev or e.future == f.id:
                continue
            f.stale_paths.update(p for p in e.paths if any(paths_overlap(p, r) for r in f.reads))

    # -- reading ---------------------------------------------------------------------

    @property
    def origin(self) -> float:
        """When the agent's own work began: setup before it is the same in every mode."""
        return self.run.t if self.run is not None else 0.0

    @property
    def turn(self) -> int:
        return self.requests[-1].turn if self.requests else 0

    @property
    def tokens(self) -> int:
        return sum(r.prompt_tokens + r.completion_tokens for r in list(self.requests))

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in list(self.requests))

    def activity_end(self) -> float:
        """When the last request or future ended (the run's wrap-up is not the agent's)."""
        # copies: the live view reads this on its drawing thread while events arrive
        ends = [r.end(self.last_t) for r in list(self.requests)]
        ends += [f.ended_t for f in list(self.futures.values()) if f.ended_t is not None]
        return max(ends, default=self.last_t)

    def clock(self, now: float) -> float:
        """``now``, held at the end of the activity once the run has finished."""
        return min(now, self.activity_end()) if self.finished is not None else now


# -- analysis ------------------------------------------------------------------------


def model_seconds(tracker: RunTracker, now: float) -> float:
    """Time the model spent on requests, the one in flight counted up to ``now``."""
    now = tracker.clock(now)
    return sum(max(0.0, r.end(now) - r.sent_t) for r in list(tracker.requests))


def tool_seconds(tracker: RunTracker, now: float) -> float:
    """Run time of every future, the running ones counted up to ``now``."""
    now = tracker.clock(now)
    return sum(f.seconds(now) for f in list(tracker.futures.values()) if f.started_t is not None)


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
    while True:
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
    blockers = [
        f for f in futures
        if f.ended_t is not None and gap_start + EPSILON < f.ended_t <= request.sent_t + EPSILON
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
    )
