"""Futures' streamed output and test outcomes: output batched into events (one per
interval per future) and capped, and shown by the calls that joined a run as well as by
its future; outcomes go through agent/partial.py."""

from __future__ import annotations

import asyncio

from ..tools.outcomes import Outcomes
from .events import EventBus, FutureOutput
from .futures import Future
from .partial import PartialResults


class OutputBatcher:
    def __init__(self, bus: EventBus, *, interval_s: float, event_limit: int, keep: int) -> None:
        self.bus = bus
        self.interval_s = interval_s
        self.event_limit = event_limit  # characters of one future published at most
        self.keep = keep  # characters a future keeps for its result
        self._pending: dict[str, list[str]] = {}
        self._published: dict[str, int] = {}  # characters, by future
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def add(self, future: Future, text: str) -> None:
        future.add_output(text, self.keep)
        published = self._published.get(future.id, 0)
        limit = self.event_limit
        if published >= limit:
            return  # the note was sent
        if published + len(text) >= limit:
            text = text[: limit - published] + (
                f"\n[... output of {future.id} past {limit} characters is not shown here ...]\n"
            )
            published = limit
        else:
            published += len(text)
        self._published[future.id] = published
        self._pending.setdefault(future.id, []).append(text)
        if future.id not in self._handles:
            loop = asyncio.get_running_loop()
            self._handles[future.id] = loop.call_later(self.interval_s, self.flush, future.id)

    def flush(self, fid: str) -> None:
        handle = self._handles.pop(fid, None)
        if handle is not None:
            handle.cancel()
        chunks = self._pending.pop(fid, None)
        if chunks:
            self.bus.publish(FutureOutput(fid, "".join(chunks)))


class Streams:
    """Where a running future's output and test outcomes go: to it, and to the calls
    that joined its run (agent/joins.py)."""

    def __init__(self, output: OutputBatcher, partial: PartialResults) -> None:
        self.output = output
        self.partial = partial
        self.followers: dict[str, list[Future]] = {}  # calls that joined a run, by its future

    def emit(self, future: Future, text: str) -> None:
        for f in [future, *self.followers.get(future.id, ())]:
            self.output.add(f, text)

    def progress(self, future: Future, outcomes: Outcomes) -> None:
        self.partial.update(future, outcomes)  # it gives them to the joiners too

    def follow(self, future: Future, source: Future) -> None:
        """``future`` joined ``source``'s run: it shows that run's output so far, and from
        now on as it comes (peeks, views)."""
        future.output, future.output_chars = list(source.output), source.output_chars
        self.followers.setdefault(source.id, []).append(future)

    def unfollow(self, future: Future, source: Future) -> None:
        followers = self.followers.get(source.id, [])
        if future in followers:
            followers.remove(future)
        if not followers:
            self.followers.pop(source.id, None)

    def close(self, future: Future) -> None:
        """The future ended: what is left of its output and outcomes goes out."""
        self.output.flush(future.id)
        self.partial.close(future)
