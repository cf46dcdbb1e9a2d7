"""The live view of a run: the model's text, the futures, and what the overlap saved.

One ``LiveView`` owns the Rich ``Live`` while a run is up. As an event subscriber it only
folds events into a ``RunTracker`` (cheap, on the event loop); the view's own thread
(``live.SerialLive``) draws a frame from the tracker a few times a second, so drawing
never holds up the executor. The frame (``frame.render``) is a pure function of the
tracker and a time.

Imported only when the live view starts (never on the ``--help`` path), so Rich is
imported at module level here.

Run ``python -m asyncfc_agent.cli.tui`` to watch it replay a short sample run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console, RenderableType
from rich.text import Text

from ..agent.events import Event
from ..agent.timeline import RunTracker
from .frame import render
from .live import SerialLive

#: Frames drawn per second by the view's thread.
REFRESH_PER_SECOND = 8


# -- the live display ----------------------------------------------------------------


class LiveView:
    """Subscriber and context manager: owns the ``Live`` from entry to exit."""

    def __init__(
        self,
        *,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_per_second: float = REFRESH_PER_SECOND,
    ) -> None:
        self.console = console or Console()
        self.clock = clock
        self.refresh_per_second = refresh_per_second
        self.tracker = RunTracker()
        self._t0: float | None = None  # the clock's reading at the run's t = 0
        self._entered = clock()
        self._live: SerialLive | None = None

    def __call__(self, event: Event) -> None:
        if self._t0 is None:
            self._t0 = self.clock() - event.t
        self.tracker.apply(event)

    def now(self) -> float:
        """Seconds on the run's clock (events carry the same), before any: since entry."""
        return self.clock() - (self._t0 if self._t0 is not None else self._entered)

    def frame(self) -> RenderableType:
        # drawn on Live's thread: a bug in drawing shows in the frame, not as a traceback
        try:
            size = self.console.size
            return render(self.tracker, self.now(), width=size.width, height=size.height)
        except Exception as exc:
            return Text(f"(the live view failed to draw: {exc!r})", style="red")

    def __enter__(self) -> LiveView:
        self._entered = self.clock()
        self._live = SerialLive(self.console, self.frame, self.refresh_per_second)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None


# -- a replay of sample events, to see the view without a run -------------------------


def sample_events() -> list[tuple[float, Event]]:
    """A short run: a test suite runs while the model reads and edits."""
    from ..agent import events as ev

    text = "I'll run the test suite and read the parser while it runs. "
    out: list[tuple[float, Event]] = [
        (0.0, ev.RunStarted("sample", "fix", "async", "scripted/demo.yaml", "local", ".", ".", "asyncfc/sample")),
        (0.1, ev.RequestSent(1, 2)),
        (0.6, ev.FirstToken(1)),
    ]
    out += [(0.6 + i * 0.1, ev.TextDelta(1, w + " ")) for i, w in enumerate(text.split())]
    out += [
        (1.8, ev.FutureCreated("f1", "run_tests", {}, [], "snapshot", 1)),
        (1.85, ev.FutureStarted("f1", 0, True)),
        (2.0, ev.FutureCreated("f2", "read_file", {"path": "dates/parse.py"}, [], "r:dates/parse.py", 1)),
        (2.02, ev.FutureStarted("f2", 0, False)),
        (2.05, ev.FutureResolved("f2", "read_file", "resolved", None, 0.03, 0, "[f2]\n...")),
        (2.1, ev.ResponseDone(1, text, 2, 300, 60, 0.0, 2.0, "tool_calls")),
        (2.1, ev.FutureDelivered("f2", "inline", 1)),
        (2.2, ev.HandleReturned("f1", 1)),
        (2.2, ev.RequestSent(2, 5)),
        (2.5, ev.FutureOutput("f1", "tests/test_parse.py ......F.\n")),
        (2.5, ev.FutureProgress("f1", "pytest", 7, 1, 0, 0, 17, [{
            "test": "tests/test_parse.py::test_empty", "message": "ValueError: not a date: ''",
            "location": "tests/test_parse.py:21 -> dates/parse.py:25", "kind": "failed"}])),
        (2.8, ev.FirstToken(2)),
        (3.0, ev.FutureCreated("f3", "edit_file", {"path": "dates/parse.py", "old": "a", "new": "b"}, [], "w:dates/parse.py", 2)),
        (3.01, ev.FutureStarted("f3", 0, False)),
        (3.02, ev.WorkspaceEdited(1, ["dates/parse.py"], "f3")),
        (3.03, ev.FutureResolved("f3", "edit_file", "resolved", None, 0.02, 0, "[f3]\nedited")),
        (3.1, ev.ResponseDone(2, "Fixing the empty case.", 1, 420, 20, 0.0, 0.9, "tool_calls")),
        (3.1, ev.FutureDelivered("f3", "inline", 2)),
        (3.2, ev.RequestSent(3, 7)),
        (4.0, ev.FutureOutput("f1", "tests/test_format.py .........\n")),
        (4.0, ev.FutureProgress("f1", "pytest", 16, 1, 0, 0, 17, [], final=True)),
        (5.5, ev.FutureResolved("f1", "run_tests", "resolved", 1, 3.65, 0, "[f1]\n1 failed")),
        (5.6, ev.FirstToken(3)),
        (5.8, ev.ResponseDone(3, "Done.", 0, 500, 5, 0.0, 2.6, "stop")),
        (5.9, ev.RunFinished("solved", "submitted", 5.9)),
    ]
    return out


def replay(events: list[tuple[float, Event]], speed: float = 1.0) -> None:
    view = LiveView()
    start = time.monotonic()
    with view:
        for t, event in events:
            time.sleep(max(0.0, start + t / speed - time.monotonic()))
            event.t = t
            view(event)
        time.sleep(1.0)
    view.console.print(render(view.tracker, view.now(), width=view.console.width))


if __name__ == "__main__":
    replay(sample_events())

