"""One stream of typed, timestamped events.

The executor and the loop publish; the TUI, the trajectory writer, the CI report and the
benchmark subscribe. Subscribers are called synchronously in publish order and must be
quick (no I/O that can block for long); a failing subscriber is dropped from the bus with
a warning event rather than breaking the run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

Clock = Callable[[], float]


@dataclass
class Event:
    kind: ClassVar[str] = "event"
    t: float = field(default=0.0, init=False)  # seconds since the run started

    def to_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind, "t": round(self.t, 4)}
        for f in dataclasses.fields(self):
            if f.name != "t":
                data[f.name] = getattr(self, f.name)
        return data


@dataclass
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    run_id: str
    task: str
    mode: str
    model: str
    sandbox: str
    repo: str
    workspace: str
    branch: str | None = None


@dataclass
class RequestSent(Event):
    kind: ClassVar[str] = "request_sent"
    turn: int
    messages: int
    tokens: int = 0  # the request's size by our count (tools included)
    budget: int = 0  # the most it may take


@dataclass
class ContextCompacted(Event):
    """The history was compacted to fit the budget (``hard``: after the provider refused
    a request as too long)."""

    kind: ClassVar[str] = "context_compacted"
    turn: int
    tokens_before: int
    tokens_after: int
    budget: int
    shortened: int  # tool results cut to their facts
    summarised: int  # messages replaced by one summary
    in_flight: list[str] = field(default_factory=list)  # futures named as still running
    hard: bool = False


@dataclass
class FirstToken(Event):
    kind: ClassVar[str] = "first_token"
    turn: int


@dataclass
class TextDelta(Event):
    kind: ClassVar[str] = "text"
    turn: int
    text: str


@dataclass
class CallClosed(Event):
    """A tool call's arguments are complete in the stream (it can be dispatched)."""

    kind: ClassVar[str] = "call_closed"
    turn: int
    call_id: str
    name: str
    arguments: str
    future: str | None = None  # the future id when it is a repository tool call
    error: str | None = None  # why the call cannot run (bad JSON, unknown tool)


@dataclass
class ResponseDone(Event):
    kind: ClassVar[str] = "response_done"
    turn: int
    text: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    duration_s: float
    finish_reason: str | None = None
    cache_read_tokens: int = 0  # of the prompt, read from the provider's cache
    cache_write_tokens: int = 0  # of the prompt, written to it


@dataclass
class ModelRetry(Event):
    kind: ClassVar[str] = "model_retry"
    turn: int
    attempt: int
    delay_s: float
    error: str


@dataclass
class FutureCreated(Event):
    kind: ClassVar[str] = "future_created"
    future: str
    tool: str
    args: dict[str, Any]
    deps: list[str]
    effects: str
    turn: int
    #: Started by the executor ahead of a call the model may make (after an edit); the
    #: model is never given it, only the result of a call that joins it.
    speculative: bool = False


@dataclass
class FutureStarted(Event):
    kind: ClassVar[str] = "future_started"
    future: str
    workspace_rev: int
    snapshot: bool


@dataclass
class FutureJoined(Event):
    """A call took its result from another future's run of the same call on the same
    workspace content (``source``): one running (``reused`` False) or one that resolved.
    ``head_start_s``: how long that run had already run (the time the call saved)."""

    kind: ClassVar[str] = "future_joined"
    future: str
    source: str
    speculative: bool
    reused: bool
    head_start_s: float


@dataclass
class FutureOutput(Event):
    kind: ClassVar[str] = "future_output"
    future: str
    text: str


@dataclass
class FutureProgress(Event):
    """Typed partial results of a running test run: its counts so far, and the failures
    that are new, or newly explained, since its last progress event (the first ones
    only: see ``tools.outcomes``). ``final`` when the counts are the tool's own summary."""

    kind: ClassVar[str] = "future_progress"
    future: str
    format: str
    passed: int
    failed: int
    errors: int
    skipped: int
    total: int | None = None
    failures: list[dict[str, str]] = field(default_factory=list)
    final: bool = False


@dataclass
class FutureResolved(Event):
    """A future reached a final state. ``result`` is exactly what the model is given."""

    kind: ClassVar[str] = "future_resolved"
    future: str
    tool: str
    status: str
    exit_code: int | None
    duration_s: float
    workspace_rev: int
    result: str


@dataclass
class FutureDelivered(Event):
    """The model was given a future's full result (``via``: inline, await, delivery)."""

    kind: ClassVar[str] = "future_delivered"
    future: str
    via: str
    turn: int


@dataclass
class HandleReturned(Event):
    """A still-running future's handle was given as its call's result."""

    kind: ClassVar[str] = "handle_returned"
    future: str
    turn: int


@dataclass
class WorkspaceEdited(Event):
    kind: ClassVar[str] = "workspace_edited"
    revision: int
    paths: list[str]
    future: str


@dataclass
class TurnEnded(Event):
    kind: ClassVar[str] = "turn_ended"
    turn: int
    handles: int
    results: int


@dataclass
class Notice(Event):
    """Something the user should know (a warning, a gate re-prompt, a limit)."""

    kind: ClassVar[str] = "notice"
    level: str
    message: str


@dataclass
class InstructionsLoaded(Event):
    """A project instruction file (AGENTS.md) given to the model."""

    kind: ClassVar[str] = "instructions_loaded"
    path: str
    chars: int
    truncated: bool
    text: str
    via: str  # "system" (the root file) or the future whose result carries it


@dataclass
class McpServerReport(Event):
    """An MCP server, after its start: running with its tools, or left out and why."""

    kind: ClassVar[str] = "mcp_server"
    server: str
    status: str  # running, failed, skipped, disabled
    transport: str  # stdio, http
    tools: list[str]  # the function names the model is given
    reason: str
    seconds: float


@dataclass
class WakeUp(Event):
    """An idle interactive session woke the model: futures it left running resolved."""

    kind: ClassVar[str] = "wake_up"
    turn: int  # the model response that starts the wake-up turn
    futures: list[str]  # the results it is given
    reason: str  # "resolved", or "failed" when one of them failed
    streak: int  # wake-ups in a row without a message from the user
    delay_s: float  # from the first of these results resolving to the wake-up


@dataclass
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    status: str
    exit_reason: str
    wall_s: float
    summary: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    """Publishes events to subscribers, stamping each with the run's clock."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._t0 = clock()
        self._subscribers: list[Subscriber] = []

    def now(self) -> float:
        """Seconds since the bus (the run) started."""
        return self._clock() - self._t0

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def publish(self, event: Event) -> None:
        event.t = self.now()
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception as exc:  # a broken view must not break the run
                self._subscribers.remove(fn)
                self.publish(Notice("warning", f"event subscriber {fn!r} failed: {exc!r}"))
