"""Futures' streamed output, batched into events (one per interval per future) and capped."""

from __future__ import annotations

import asyncio

from .events import EventBus, FutureOutput
from .futures import Future


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
