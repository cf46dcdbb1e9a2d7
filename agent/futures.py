"""A future: one repository tool call, from dispatch to a final state.

Plain and strict: an explicit state, and reading the result of a future that is not
resolved raises an error that says why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..tools.base import Effects, ToolResult
from ..tools.outcomes import Outcomes


class FutureState(StrEnum):
    PENDING = "pending"  # waiting for its dependencies, a conflicting call, or a slot
    RUNNING = "running"
    RESOLVED = "resolved"  # the tool ran to the end (a command's exit status may be != 0)
    FAILED = "failed"  # the call could not be carried out (bad args, dependency, sandbox)
    CANCELLED = "cancelled"
    TIMED_OUT = "timed out"

    @property
    def final(self) -> bool:
        return self not in (FutureState.PENDING, FutureState.RUNNING)


class FutureError(Exception):
    """Reading a future that has no result."""


class FutureNotDone(FutureError):
    pass


class FutureFailed(FutureError):
    pass


@dataclass(eq=False)
class Future:
    id: str
    tool: str
    args: dict[str, Any]  # as the model wrote them (with ``${fN}`` references)
    deps: list[str]
    effects: Effects
    turn: int
    call_id: str
    created_s: float
    seq: int  # issue order
    state: FutureState = FutureState.PENDING
    started_s: float | None = None
    ended_s: float | None = None
    workspace_rev: int | None = None  # the revision it ran on
    result: ToolResult | None = None
    error: str | None = None  # why it failed, was cancelled or timed out
    output: list[str] = field(default_factory=list)  # streamed output so far
    output_chars: int = 0
    peeked_chars: int = 0  # how much output a peek has already shown the model
    delivered: bool = False  # the model has been given the full result
    delivered_via: str | None = None
    stale_paths: list[str] = field(default_factory=list)  # edited after it ran, as read
    partial: Outcomes | None = None  # a test run's outcomes so far (typed partial results)
    failures_shown: int = 0  # failing tests the model has been shown while it ran
    message: str = ""  # the result exactly as the model is given it
    #: Started by the executor ahead of a call (never shown to the model as such).
    speculative: bool = False
    memo_key: str | None = None  # its key in the memo table, when it has one
    joined: str | None = None  # the future whose run gave its result
    joiners: int = 0  # calls waiting on its run now
    note: str | None = None  # where its result came from, for the model
    done: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)  # its locks are free
    task: asyncio.Task[None] | None = None

    @property
    def waiting_on(self) -> list[str]:
        return list(self.deps)

    def value(self) -> ToolResult:
        """The tool's result; raises if the future did not resolve."""
        if not self.state.final:
            raise FutureNotDone(f"future {self.id} is {self.state.value}")
        if self.state is not FutureState.RESOLVED or self.result is None:
            raise FutureFailed(f"future {self.id} {self.state.value}: {self.error}")
        return self.result

    def duration_s(self, now: float) -> float:
        if self.started_s is None:
            return 0.0
        return (self.ended_s if self.ended_s is not None else now) - self.started_s

    def output_text(self) -> str:
        return "".join(self.output)

    def add_output(self, text: str, limit: int) -> None:
        # keep memory bounded for chatty commands: the head is dropped, the tail kept
        self.output.append(text)
        self.output_chars += len(text)
        if self.output_chars > limit * 2 and len(self.output) > 1:
            joined = "".join(self.output)[-limit:]
            dropped = self.output_chars - len(joined)
            self.output = [joined]
            self.output_chars = len(joined)
            self.peeked_chars = max(0, self.peeked_chars - dropped)

    def last_line(self) -> str:
        for chunk in reversed(self.output):
            for line in reversed(chunk.splitlines()):
                if line.strip():
                    return line.strip()
        return ""
