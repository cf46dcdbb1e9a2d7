"""Stopping a run from outside: SIGTERM (``kill``, ``timeout``, a CI runner cancelling a
job) ends it the way Ctrl-C does, so its sandbox and worktree are removed and its record
is written instead of the process dying on the spot."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


def _as_interrupt(signum: int, frame: FrameType | None) -> None:
    on_sigint = signal.getsignal(signal.SIGINT)
    if callable(on_sigint):
        # asyncio.run's own handler while a loop runs (it cancels the main task, which
        # then cleans up), Python's KeyboardInterrupt otherwise
        on_sigint(signal.SIGINT, frame)
    else:
        # SIGINT ignored (a background job of a shell): a stop still has to stop
        raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _as_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
