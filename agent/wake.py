"""Wake-ups: an idle interactive session starts a turn by itself when futures the model
left running resolve, so that the model reacts to their results without waiting for the
user's next message.

Results that resolve close together wake the model once; a wake-up waits while the user
types (a line they send carries the results to the model itself); and a model that keeps
starting new runs each time it wakes is stopped after a number of wake-ups in a row
without a message from the user.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from .events import Notice
from .futures import Future, FutureState
from .partial import failing_unseen

if TYPE_CHECKING:
    from .interactive import Interactive

#: Why a future ended when the user stopped it: no reason to wake the model for it.
CANCELLED_BY_USER = "cancelled by the user"
#: Seconds between two looks at whether the user still types.
TYPING_POLL_S = 0.1


class WakePolicy(StrEnum):
    AUTO = "auto"  # any result wakes the model
    FAILURES = "failures"  # only a failed one does (a non-zero exit, a timeout, an error)
    OFF = "off"  # results wait for the user's next message


class NotifyKind(StrEnum):
    OFF = "off"
    BELL = "bell"  # the terminal bell
    DESKTOP = "desktop"  # a desktop notification where the terminal has one, else the bell


@dataclass
class ReplConfig:
    """How an interactive session reacts to futures that resolve while it is idle."""

    #: "auto", "failures" or "off".
    wake: str = WakePolicy.AUTO.value
    #: "off", "bell" or "desktop": how the terminal is told that a result arrived.
    notify: str = NotifyKind.OFF.value
    #: Wake-ups in a row, without a message from the user, before waking stops.
    max_wakes: int = 5
    #: Seconds to wait after a result for others that resolve close to it.
    settle_s: float = 0.3
    #: Seconds a cleared prompt must stay empty before a held wake-up goes ahead.
    typing_pause_s: float = 3.0

    def check(self) -> str | None:
        """What is wrong with the settings, if anything."""
        if self.wake not in set(WakePolicy):
            return f"wake must be auto, failures or off, not {self.wake!r}"
        if self.notify not in set(NotifyKind):
            return f"notify must be off, bell or desktop, not {self.notify!r}"
        if self.max_wakes < 1:
            return "max_wakes must be at least 1"
        return None


def first_failure(future: Future) -> bool:
    """A running suite has failing tests and the model has been shown none of them."""
    return future.failures_shown == 0 and failing_unseen(future)


def failed(future: Future) -> bool:
    if not future.done.is_set():
        return first_failure(future)  # a suite that runs: its first failing test
    if future.state is not FutureState.RESOLVED:
        return True
    return future.result is not None and future.result.exit_code not in (0, None)


def wake_message(ids: list[str], failing: list[str] | None = None) -> str:
    if failing:  # woken by a test that failed in a suite that still runs
        ended = f" {', '.join(ids)} ended and the results are above;" if ids else ""
        return (f"(No message from the user:{ended} {', '.join(failing)}, which you left "
                "running, reported failing tests and still runs (its counts and failures are "
                "above). Start on a fix while it runs, or wait for its result. The user may "
                "be away.)")
    return (f"(No message from the user: {', '.join(ids)}, which you left running, ended and "
            "the results are above. React to them: say what failed and fix it, or confirm. "
            "The user may be away.)")


class Waker:
    """Decides when an idle session wakes its model, and starts the wake-up turn."""

    def __init__(self, inter: Interactive, config: ReplConfig) -> None:
        self.inter = inter
        self.config = config
        self.policy = WakePolicy(config.wake)
        #: Whether the user is typing (set by the prompt); a wake-up waits while it is.
        self.user_busy: Callable[[], bool] = lambda: False
        self.streak = 0  # wake-ups in a row without a message from the user
        self.paused = False  # the loop guard stopped waking until the user writes
        self.held = False  # a wake-up waits for the user to send or clear their line
        self._task: asyncio.Task[None] | None = None
        self._first_t = 0.0  # when the first result of the coming wake-up resolved

    # -- what the model waits for ------------------------------------------------------

    def waiting(self) -> list[Future]:
        """The model's futures still running, whose results it has not seen."""
        return [f for f in self.inter.executor.undelivered() if not f.done.is_set()]

    def ready(self) -> list[Future]:
        """Results the model has not seen, of futures the user did not stop."""
        return [f for f in self.inter.executor.undelivered()
                if f.done.is_set() and f.error != CANCELLED_BY_USER]

    def failing(self) -> list[Future]:
        """Running test suites with a first failure the model has not been shown (later
        ones wait for the suite's result)."""
        return [f for f in self.waiting() if first_failure(f)]

    def would_wake(self, futures: list[Future]) -> bool:
        """Whether these results wake the model, as the settings stand."""
        if self.paused or self.policy is WakePolicy.OFF or not futures:
            return False
        return self.policy is WakePolicy.AUTO or any(failed(f) for f in futures)

    # -- triggers ----------------------------------------------------------------------

    def on_resolved(self, future: Future) -> None:
        """A future ended; called by the session while no turn runs."""
        if not future.delivered and future.error != CANCELLED_BY_USER:
            self._schedule()

    def on_failing(self, future: Future) -> None:
        """A running suite reported a failing test; called while no turn runs."""
        if not future.delivered and first_failure(future):
            self._schedule()

    def after_turn(self) -> None:
        """A turn ended: results that came during its last response may wake the model."""
        if self.ready():
            self._schedule()

    def user_wrote(self) -> None:
        """A message of the user starts a turn: it carries the results; the streak ends."""
        self.streak, self.paused, self.held = 0, False, False
        self.cancel()

    def set_policy(self, name: str) -> WakePolicy:
        """Change when results wake the model; the loop guard's pause ends with it."""
        try:
            self.policy = WakePolicy(name)
        except ValueError:
            from .interactive import NotNow

            raise NotNow(f"unknown wake setting {name!r}: auto, failures or off") from None
        self.paused = False
        if self.policy is not WakePolicy.OFF:
            self.after_turn()
        return self.policy

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _schedule(self) -> None:
        if self.policy is WakePolicy.OFF or self.paused:
            return
        if self._task is None or self._task.done():
            self._first_t = self.inter.session.bus.now()
            self._task = asyncio.get_running_loop().create_task(self._when_quiet(), name="wake")

    # -- the wake-up -------------------------------------------------------------------

    async def _when_quiet(self) -> None:
        await asyncio.sleep(self.config.settle_s)  # results close together wake it once
        while self.user_busy():
            if not self.held:
                self.held = True
                self._notice("info", "results arrived while you type: the model wakes when "
                                     "you send your line (it gets them with it) or clear it")
            await asyncio.sleep(TYPING_POLL_S)
        self.held = False
        batch, failing = self.ready(), self.failing()
        if self.inter.busy or not (self.would_wake(batch) or self.would_wake(failing)):
            return
        if self.streak >= self.config.max_wakes:
            self.paused = True
            running = ", ".join(f.id for f in self.waiting())
            self._notice("warning", f"{self.streak} wake-ups in a row without a message from "
                                    "you: the model is not woken again until you write"
                                    + (f" ({running} still running)" if running else ""))
            return
        self.streak += 1
        reason = "failed" if any(failed(f) for f in batch) else "resolved"
        if failing:
            reason = "failing test"
        delay = round(self.inter.session.bus.now() - self._first_t, 3)
        self.inter.wake([f.id for f in batch], reason, self.streak, delay, [f.id for f in failing])

    def _notice(self, level: str, message: str) -> None:
        self.inter.session.bus.publish(Notice(level, message))
