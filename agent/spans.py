"""The spans of a run on its time line: a future from dispatch to its end, a model request
from sending it to its last token, and a stretch of the critical path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..tools.base import WHOLE
from ..tools.outcomes import Outcomes


def read_effects(described: str) -> tuple[str, ...]:
    """The paths a future reads, from ``Effects.describe()`` (``WHOLE`` for everything)."""
    if described == "snapshot":
        return (WHOLE,)
    reads = [token[2:] for token in described.split() if token.startswith("r:")]
    return tuple(WHOLE if p == "*" else p for p in reads)


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
    # as the sandbox printed them (untrusted): a view sanitizes them
    error: str = ""  # first line of why it failed, was cancelled or timed out
    last_line: str = ""  # last non-blank line of its output so far
    handle_t: float | None = None  # the model got a handle (it was still running)
    delivered_t: float | None = None  # the model got its result
    delivered_via: str | None = None
    stale_paths: set[str] = field(default_factory=set)
    speculative: bool = False  # started ahead of the model, after an edit
    joined: str | None = None  # the future whose run gave it its result
    joined_speculative: bool = False  # ... one started speculatively
    reused: bool = False  # ... one that had already resolved
    head_start_s: float = 0.0  # how long that run had run when this call joined it
    joiners: list[str] = field(default_factory=list)  # calls that took this run's result
    tests: Outcomes | None = None  # a test run's outcomes so far (as untrusted as its output)

    @property
    def tests_line(self) -> str:
        """``12 passed, 1 failed, running`` for a test run, else ``""``."""
        if self.tests is None:
            return ""
        text = self.tests.describe(failures_first=self.final)
        return text if self.final else f"{text}, running"

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
