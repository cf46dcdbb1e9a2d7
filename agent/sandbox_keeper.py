"""The executor's sandbox, replaced when it dies under a future (a Docker engine restart)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from ..sandboxes.base import Sandbox
from .events import EventBus, Notice

SandboxFactory = Callable[[], Awaitable[Sandbox]]


class SandboxKeeper:
    def __init__(self, sandbox: Sandbox, factory: SandboxFactory | None, bus: EventBus, wait_s: float) -> None:
        self.sandbox = sandbox
        self.factory = factory
        self.bus = bus
        self.wait_s = wait_s  # seconds from the loss during which futures wait for a new one
        self.closing = False
        self.lost = False  # it died and no new one could be started yet
        self._lost_since = 0.0  # when it was first found lost
        self._lock = asyncio.Lock()

    async def replace(self) -> None:
        """After the sandbox died under a future: a fresh one for the futures to come."""
        if self.factory is None or self.closing:
            return
        dead = self.sandbox
        async with self._lock:
            if self.sandbox is not dead:
                return  # another future already replaced it
            with contextlib.suppress(Exception):
                await dead.close()
            try:
                self.sandbox = await self.factory()
            except Exception as exc:  # the engine may be down for a while: later futures retry
                if not self.lost:
                    self._lost_since = self.bus.now()
                    self.bus.publish(Notice("error", f"could not start a new sandbox: {exc}"))
                self.lost = True
                return
            self.lost = False
            self.bus.publish(Notice("warning", "the sandbox died; a new one was started"))

    async def wait(self) -> None:
        """The sandbox could not be replaced yet (the engine is away): try again, more
        slowly each time, until ``wait_s`` after it was first found lost (so futures
        after that try once and fail at once)."""
        delay, deadline = 0.25, self._lost_since + self.wait_s
        while True:
            await self.replace()
            if not self.lost or self.bus.now() + delay > deadline:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
