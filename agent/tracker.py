"""The state of a run, folded from its events one at a time (live, or from a trajectory).

Nothing here prints or blocks, so the tracker is cheap enough to sit on the event bus. What
it keeps of output and errors is as the sandbox printed it: the views make it safe to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..tools.base import paths_overlap
from ..tools.outcomes import MAX_FAILURES, Failure, Outcomes
from .events import (
    CallClosed,
    ContextCompacted,
    Event,
    FirstToken,
    FutureCreated,
    FutureDelivered,
    FutureJoined,
    FutureOutput,
    FutureProgress,
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
from .spans import FutureSpan, RequestSpan, read_effects

#: A colour sequence: a line of nothing else counts as blank.
_STYLE = re.compile(r"\x1b\[[0-9;:]*m")

class RunTracker:
    """The state of a run, folded from its events one at a time."""

    def __init__(self) -> None:
        self.run: RunStarted | None = None
        self.finished: RunFinished | None = None
        self.requests: list[RequestSpan] = []
        self.futures: dict[str, FutureSpan] = {}
        #: Runs the executor started ahead of the model (never given to it), apart.
        self.speculative: dict[str, FutureSpan] = {}
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
            FutureJoined: self._future_joined,
            FutureOutput: self._future_output,
            FutureProgress: self._future_progress,
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
        span = FutureSpan(e.future, e.tool, e.args, e.deps, e.turn, e.t, read_effects(e.effects),
                          speculative=e.speculative)
        (self.speculative if e.speculative else self.futures)[e.future] = span

    def _span(self, fid: str) -> FutureSpan | None:
        return self.futures.get(fid) or self.speculative.get(fid)

    def _future_started(self, e: FutureStarted) -> None:
        if (f := self._span(e.future)) is not None:
            f.started_t, f.workspace_rev, f.snapshot = e.t, e.workspace_rev, e.snapshot

    def _future_joined(self, e: FutureJoined) -> None:
        if (f := self.futures.get(e.future)) is not None:
            f.joined, f.joined_speculative, f.reused = e.source, e.speculative, e.reused
            f.head_start_s = e.head_start_s
        if (source := self._span(e.source)) is not None:
            source.joiners.append(e.future)

    def _future_output(self, e: FutureOutput) -> None:
        f = self._span(e.future)
        if f is None:
            return
        # the last line is near the end: a chatty command's batch need not be split whole.
        # It is kept as printed: the views make it safe to show
        for line in reversed(e.text[-4096:].splitlines()):
            if _STYLE.sub("", line).strip():
                f.last_line = line
                return

    def _future_progress(self, e: FutureProgress) -> None:
        f = self._span(e.future)
        if f is None:
            return
        tests = f.tests or Outcomes(e.format)
        tests.passed, tests.failed, tests.errors, tests.skipped = e.passed, e.failed, e.errors, e.skipped
        tests.total, tests.final = e.total, e.final
        for data in e.failures:  # new ones, or ones explained since
            failure = Failure.from_dict(data)
            known = [i for i, old in enumerate(tests.failures) if old.test == failure.test]
            if known:
                tests.failures[known[0]] = failure
            elif len(tests.failures) < MAX_FAILURES:
                tests.failures.append(failure)
        f.tests = tests

    def _future_resolved(self, e: FutureResolved) -> None:
        f = self._span(e.future)
        if f is None:
            return
        f.ended_t, f.status, f.exit_code = e.t, e.status, e.exit_code
        f.duration_s, f.workspace_rev = e.duration_s, e.workspace_rev
        if e.status != "resolved":
            # the result is a header line, then the reason
            body = e.result.split("\n", 1)[-1].strip()
            f.error = body.splitlines()[0] if body else e.status

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
