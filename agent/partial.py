"""Typed partial results of running futures: a test run's outcomes so far.

A test tool reports its outcomes at each change (``ToolContext.progress``). They are kept
on the future (``Future.partial``) for peeks and awaits, and published as
``FutureProgress`` events for the views, at most a few a second, except that a new
failure is published, and wakes whoever waits for one, at once.

A call that joins a running suite (agent/joins.py, a ``future_joined`` event) gets that
suite's outcomes as its own, so that a peek shows them and a failure wakes its awaits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..tools.outcomes import Failure, Outcomes
from . import protocol
from .events import Event, EventBus, FutureJoined, FutureProgress
from .futures import Future
from .history import next_delivery

if TYPE_CHECKING:
    from .loop import Agent

#: Seconds between two progress events of one future, unless a failure is new.
PROGRESS_INTERVAL_S = 0.25
#: What ``await_futures(until=...)`` may wait for besides the futures' ends.
UNTIL = ("resolved", "first_failure")


class PartialResults:
    def __init__(self, bus: EventBus, wake: Callable[[], None],
                 interval_s: float = PROGRESS_INTERVAL_S,
                 lookup: Callable[[str], Future | None] = lambda _fid: None) -> None:
        self._bus = bus
        self._wake = wake
        self._interval_s = interval_s
        self._lookup = lookup  # a future by its id (joins name them by id)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sent: dict[str, list[Failure]] = {}  # failures in each future's events so far
        self._version: dict[str, int] = {}
        self._joiners: dict[str, list[Future]] = {}  # by the future whose run they joined
        self._detached: set[str] = set()  # joiners whose run ended: they may run themselves
        bus.subscribe(self._on_event)

    def update(self, future: Future, outcomes: Outcomes) -> None:
        """A test run's outcomes changed (called from its tool, on the event loop)."""
        for f in [future, *self._joiners.get(future.id, [])]:
            self._apply(f, outcomes)

    def _apply(self, future: Future, outcomes: Outcomes) -> None:
        if future.id in self._detached:  # its own run, after the one it joined ended
            self._detached.discard(future.id)
            future.partial, future.failures_shown = None, 0
        before = future.partial.failing if future.partial is not None else 0
        future.partial = outcomes
        if outcomes.failing > before:
            self.publish(future)
            self._wake()
        elif future.id not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[future.id] = loop.call_later(self._interval_s, self.publish, future)

    def _on_event(self, event: Event) -> None:
        if not isinstance(event, FutureJoined) or event.reused:
            return
        joiner, source = self._lookup(event.future), self._lookup(event.source)
        if joiner is None or source is None or source.done.is_set():
            return
        self._joiners.setdefault(source.id, []).append(joiner)
        if source.partial is not None:
            self._apply(joiner, source.partial)

    def publish(self, future: Future) -> None:
        """An event with the outcomes of ``future`` unless it has nothing new."""
        timer = self._timers.pop(future.id, None)
        if timer is not None:
            timer.cancel()
        o = future.partial
        if o is None or self._version.get(future.id) == o.version:
            return
        self._version[future.id] = o.version
        sent = self._sent.get(future.id, [])
        fresh = [f for i, f in enumerate(o.failures) if i >= len(sent) or sent[i] != f]
        self._sent[future.id] = list(o.failures)
        self._bus.publish(FutureProgress(
            future.id, o.format, o.passed, o.failed, o.errors, o.skipped, o.total,
            [f.to_dict() for f in fresh], o.final,
        ))

    def close(self, future: Future) -> None:
        """The future ended: what is left to publish goes out (before its result)."""
        self.publish(future)
        self._sent.pop(future.id, None)
        self._version.pop(future.id, None)
        self._detached.discard(future.id)
        for joiner in self._joiners.pop(future.id, []):
            self.publish(joiner)
            self._detached.add(joiner.id)


def failing_unseen(future: Future) -> bool:
    """Whether a running future has failing tests the model has not been shown."""
    return future.partial is not None and future.partial.failing > future.failures_shown


def take_unseen(future: Future) -> list[Failure]:
    """The failures kept that the model has not been shown (now marked shown)."""
    if future.partial is None:
        return []
    fresh = future.partial.failures[future.failures_shown :]
    future.failures_shown = future.partial.failing
    return fresh


def deliver_progress(agent: Agent, futures: list[Future]) -> int:
    """Append the partial results of running ``futures`` (their counts, the failures not
    shown yet and new output, as a peek) to ``agent``'s conversation as one synthetic
    ``await_futures`` call: an idle session woken by a failing test gives them so."""
    if not futures:
        return 0
    ex = agent.executor
    call = protocol.delivery_call([f.id for f in futures], next_delivery(agent.messages))
    body = "\n\n".join(protocol.render_progress(f, ex.peek(f), agent.bus.now(), take_unseen(f))
                       for f in futures)
    agent.messages += [call, protocol.tool_message(call["tool_calls"][0]["id"], protocol.AWAIT, body)]
    return len(futures)
