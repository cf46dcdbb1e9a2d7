"""A Rich ``Live`` that nothing printed while it is up can tear.

Rich's ``Live`` redraws its frame from a thread of its own, and a ``print`` (ours, or any
library's ``sys.stdout`` / ``sys.stderr`` write, which ``Live`` redirects above the frame)
runs on the thread that prints. Each side moves the cursor up by the height of the frame it
last saw, and nothing orders a redraw against a print: when the frame changes height
between the two, the cursor lands too high (lines above the frame are erased, the user's
own among them) or too low (a stale frame is left on the screen).

``SerialLive`` draws from a thread of its own too, but every redraw, every print through
it and every write to the redirected streams takes one lock, so each starts where the last
one left the cursor. What is written to the streams is sanitized first: it can quote a
command's output, and Rich's proxy passes 8-bit controls such as CSI (0x9b) to the
terminal.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO, cast

from rich.console import Console, RenderableType
from rich.live import Live

from .sanitize import sanitize


class SanitizedStream:
    """Stands in for stdout or stderr while the view is up: sanitizes what is written and
    writes it under the view's lock."""

    def __init__(self, target: TextIO, lock: threading.RLock) -> None:
        self.target = target
        self.lock = lock

    def write(self, text: str) -> int:
        with self.lock:
            self.target.write(sanitize(text))
        return len(text)

    def flush(self) -> None:
        with self.lock:
            self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


class SerialLive:
    """Context manager: a transient ``Live`` of ``get_renderable``, redrawn
    ``refresh_per_second`` times a second, with stdout and stderr printed above it."""

    def __init__(self, console: Console, get_renderable: Callable[[], RenderableType],
                 refresh_per_second: float) -> None:
        self.console = console
        self.refresh_per_second = refresh_per_second
        self.lock = threading.RLock()
        self._live = Live(
            console=console, get_renderable=get_renderable, auto_refresh=False, transient=True,
            redirect_stdout=True, redirect_stderr=True,
        )
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._streams: tuple[TextIO, TextIO] = sys.stdout, sys.stderr

    def __enter__(self) -> SerialLive:
        with self.lock:
            self._live.start(refresh=True)
            self._streams = sys.stdout, sys.stderr  # Rich's proxies
            sys.stdout = cast(TextIO, SanitizedStream(sys.stdout, self.lock))
            sys.stderr = cast(TextIO, SanitizedStream(sys.stderr, self.lock))
        self._thread = threading.Thread(target=self._redraw, name="live-view", daemon=True)
        self._thread.start()
        return self

    def _redraw(self) -> None:
        while not self._done.wait(1 / self.refresh_per_second):
            with self.lock:
                if self._done.is_set():
                    return
                self._live.refresh()

    def print(self, *objects: RenderableType) -> None:
        """Prints above the frame."""
        with self.lock:
            self.console.print(*objects)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self.lock:
            sys.stdout, sys.stderr = self._streams
            self._live.stop()  # transient: the frame is erased, the cursor shown again
