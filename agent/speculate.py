"""Speculative futures: the last test or build call, started ahead of the model.

After an edit, when the model has already run a test or build call in this run, the
executor starts that call on a snapshot of the new revision before the model asks. The
model's call then finds it through the memo key and joins it. The rules that keep this
from costing the model anything:

- one speculative run at a time that no call joined, started only when a slot is free and
  no writer is in flight; its command runs at a lower CPU priority (``nice``);
- a model call that finds no free slot takes the slot of a speculative run nobody joined
  (it is cancelled, its processes killed);
- a newer revision supersedes it: a run nobody joined is cancelled with its processes;
- the model is never given a speculative future: its ids (``s1``, ``s2`` ...) are apart
  from the model's ``fN`` and never reach a message; a result that came from one says so.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from ..tools.base import Effects, Tool
from .events import FutureCreated
from .futures import Future, FutureState
from .joins import current_key

if TYPE_CHECKING:
    from .executor import Executor

#: Tools whose last call is started again after an edit.
SPECULATED = frozenset({"run_tests", "build"})
#: How much lower a speculative command's CPU priority is.
NICE = 10


class _Stale(Exception):
    """The workspace changed while a speculative run's snapshot was taken."""


class Speculator:
    def __init__(self, executor: Executor) -> None:
        self.ex = executor
        self.futures: dict[str, Future] = {}  # speculative futures, by id (s1, s2 ...)
        self._call: tuple[str, dict[str, Any]] | None = None  # the model's last test/build
        self._attempt: asyncio.Task[None] | None = None
        self._current: Future | None = None
        self._seq = 0

    @property
    def enabled(self) -> bool:
        return self.ex.config.speculate

    def observe(self, future: Future, args: dict[str, Any]) -> None:
        """A call of the model is about to run (``args`` with references filled in)."""
        if future.tool in SPECULATED and not future.speculative:
            self._call = (future.tool, args)

    def changed(self, writer: Future) -> None:
        """A writer ended: the workspace may be at a new revision."""
        ex = self.ex
        if not self.enabled or self._call is None or ex._closing or ex._tg is None:
            return
        attempt, current = self._attempt, self._current
        joined = current is not None and current.task is attempt and current.joiners > 0
        if attempt is not None and not attempt.done() and not joined:
            attempt.cancel()
        self._attempt = ex._tg.create_task(self._try(*self._call, writer.turn), name="speculate")

    def preempt(self) -> None:
        """A call of the model needs a slot: free the one a speculative run holds."""
        current = self._current
        if current is not None and not current.joiners and not current.done.is_set():
            self._cancel(current, "preempted: a call of the model needed its slot")

    def cancel_all(self, reason: str) -> None:
        if self._attempt is not None and not self._attempt.done():
            self._attempt.cancel()
        for future in self.futures.values():
            self._cancel(future, reason)

    def _cancel(self, future: Future, reason: str) -> None:
        if not future.done.is_set() and future.task is not None:
            future.error = reason
            future.task.cancel()

    async def _try(self, name: str, args: dict[str, Any], turn: int) -> None:
        ex = self.ex
        if ex._writers:
            return  # more edits are on their way: the last of them tries again
        started = ex.writes_started
        tool = ex.tools[name]
        parsed = tool.parse(args)
        key = await current_key(ex, tool, parsed)
        if ex._writers or started != ex.writes_started or ex.memo.get(key) is not None:
            return  # a newer change, or that run is known already
        current = self._current
        # a run the model joined is its own now: it goes on beside the new one
        if current is not None and not current.done.is_set() and not current.joiners:
            self._cancel(current, "superseded by a newer revision")
            with contextlib.suppress(asyncio.CancelledError):
                await current.done.wait()
        if ex._slots.locked():
            return  # no spare capacity
        self._seq += 1
        future = Future(
            id=f"s{self._seq}", tool=name, args=args, deps=[], effects=Effects.snapshot_reader(),
            turn=turn, call_id="", created_s=ex.bus.now(), seq=0, speculative=True,
        )
        self.futures[future.id] = future
        self._current = future
        ex.bus.publish(FutureCreated(future.id, name, args, [], "snapshot", turn, speculative=True))
        future.task = asyncio.current_task()
        await self._drive(future, tool, parsed, key, started)

    async def _drive(self, future: Future, tool: Tool[Any], parsed: Any, key: str, started: int) -> None:
        ex = self.ex

        def taken() -> None:
            if ex.writes_started != started or ex.memo.get(key) is not None:
                raise _Stale
            ex.memo.add(key, future)

        state, error, result = FutureState.FAILED, "", None
        try:
            async with ex._slots:
                result = await ex._run(future, tool, parsed, taken=taken, nice=NICE)
            state = FutureState.TIMED_OUT if result.meta.get("timed_out") else FutureState.RESOLVED
        except _Stale:
            state, error = FutureState.CANCELLED, "superseded: the workspace changed during its snapshot"
        except asyncio.CancelledError:
            state, error = FutureState.CANCELLED, future.error or "superseded by a newer revision"
        except Exception as exc:  # the model's own call runs it again: nothing is lost
            error = f"{type(exc).__name__}: {exc}"
        ex._finish(future, state, error=error, result=result)
