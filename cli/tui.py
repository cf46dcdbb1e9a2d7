"""The live view of a run: the model's text, the futures, and what the overlap saved.

One ``LiveView`` owns the Rich ``Live`` while a run is up. As an event subscriber it only
folds events into a ``RunTracker`` (cheap, on the event loop); Live's own refresh thread
draws a frame from the tracker a few times a second, so drawing never holds up the
executor. ``render`` is a pure function of the tracker and a time, for exact tests.

Imported only when the live view starts (never on the ``--help`` path), so Rich is
imported at module level here.

Run ``python -m asyncfc_agent.cli.tui`` to watch it replay a short sample run.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.segment import Segment
from rich.text import Text

from ..agent.events import Event
from ..agent.timeline import (
    FutureSpan,
    RequestSpan,
    RunTracker,
    Summary,
    load_events,
    overlap_saved,
    printable,
    summarize,
)
from .plain import short_args

#: Frames drawn per second by Live's refresh thread.
REFRESH_PER_SECOND = 8
#: Lines of the model's text shown, at most (fewer on a short terminal).
TEXT_LINES = 6
#: Notices shown under the futures, latest last.
NOTICES = 2

COLUMNS = ("id", "tool", "args", "state", "time", "rev", "model", "output")
#: "f10", "tool", -, "timed out", "59.9 s", "rev", "unseen", -
MIN_WIDTHS = (3, 4, 0, 9, 6, 3, 6, 0)
STATE_STYLES = {
    "waiting": "dim",
    "running": "bold yellow",
    "resolved": "green",
    "failed": "bold red",
    "cancelled": "magenta",
    "timed out": "bold red",
}


# -- small formats -------------------------------------------------------------------


def seconds(value: float) -> str:
    """``3.2 s`` below a minute, ``2m05s`` above: the width stays small while it counts."""
    if value < 60:
        return f"{value:.1f} s"
    whole = int(value)
    return f"{whole // 60}m{whole % 60:02d}s"


def short_model(model: str) -> str:
    """A scripted model's script by its file name, not its full path."""
    if model.startswith("scripted/"):
        return "scripted/" + model.removeprefix("scripted/").rsplit("/", 1)[-1]
    return model


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def last_lines(text: str, width: int, count: int) -> list[str]:
    """The last ``count`` lines of ``text`` wrapped at ``width``."""
    # only the tail can show, so a long response is not re-wrapped whole every frame
    tail = printable(text[-(width * count * 2) :])
    lines: list[str] = []
    for paragraph in tail.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width) or [""])
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[-count:]


# -- the parts of a frame ------------------------------------------------------------


def request_title(request: RequestSpan | None, now: float) -> str:
    if request is None:
        return "waiting for the first request"
    title = f"turn {request.turn}"
    if request.retries:
        title += f" · retry {request.retries}"
    if request.done_t is not None:
        return f"{title} · {plural(request.calls, 'call') if request.calls else 'answered'}"
    if request.first_token_t is None:
        return f"{title} · waiting for the model {seconds(now - request.sent_t)}"
    return f"{title} · streaming"


def text_panel(tracker: RunTracker, now: float, width: int, lines: int) -> Panel:
    request = tracker.requests[-1] if tracker.requests else None
    text = request.streamed() if request is not None else ""
    shown = last_lines(text, width - 4, lines)
    body = Text("\n".join(shown)) if shown else Text("(no text yet)", style="dim")
    return Panel(
        body, title=request_title(request, now), title_align="left", height=lines + 2,
        width=width,
    )


Piece = tuple[str, str]  # text and its style


def future_output(f: FutureSpan) -> list[Piece]:
    if f.status not in (None, "resolved"):
        return [(f.error, "red")]
    pieces: list[Piece] = []
    if f.exit_code is not None:
        pieces.append((f"exit {f.exit_code}", "red" if f.exit_code != 0 else ""))
        if f.last_line:
            pieces.append((" · ", ""))
    if f.last_line:
        pieces.append((f.last_line, "dim" if f.final else ""))
    return pieces


def future_rev(f: FutureSpan) -> list[Piece]:
    if f.workspace_rev is None:
        return []
    return [(str(f.workspace_rev), ""), *([(" stale", "bold yellow")] if f.stale else [])]


def visible_futures(futures: Sequence[FutureSpan], rows: int) -> tuple[list[FutureSpan], int]:
    """The futures that fit in ``rows``: every unfinished one first, then the latest."""
    if len(futures) <= rows:
        return list(futures), 0
    rows = max(1, rows - 1)  # one row says how many are left out
    keep = {f.id for f in futures if not f.final}
    for f in reversed(futures):
        if len(keep) >= rows:
            break
        keep.add(f.id)
    shown = [f for f in futures if f.id in keep][-rows:]
    return shown, len(futures) - len(shown)


def cells(text: str) -> int:
    # most of what is drawn is ASCII, where the cell width is the length (and far quicker)
    return len(text) if text.isascii() else cell_len(text)


def fit(pieces: list[Piece], width: int, *, right: bool = False, pad: bool = True) -> list[Piece]:
    """``pieces`` in exactly ``width`` cells: cut with an ellipsis, or padded."""
    used = sum(cells(text) for text, _ in pieces)
    if used <= width:
        filler = (" " * (width - used), "")
        return ([filler, *pieces] if right else [*pieces, filler]) if pad else pieces
    out: list[Piece] = []
    room = width - 1
    for text, style in pieces:
        if room <= 0:
            break
        if cells(text) > room:
            text = set_cell_size(text, room)
        out.append((text, style))
        room -= cells(text)
    return [*out, ("…", "")]


def future_row(f: FutureSpan, now: float) -> list[list[Piece]]:
    return [
        [(f.id, "")], [(f.tool, "")], [(short_args(f.args, 200), "")],
        [(f.state, STATE_STYLES.get(f.state, ""))], [(seconds(f.seconds(now)), "")],
        future_rev(f), [(f.seen, "")], future_output(f),
    ]


def column_widths(rows: list[list[list[Piece]]], width: int) -> list[int]:
    """Fixed columns as wide as their widest cell (at least as wide as their longest word,
    so the layout holds still as states change); args and output share the rest, 3:4."""
    widths = [
        max(least, *(cells("".join(t for t, _ in row[i])) for row in rows))
        for i, least in enumerate(MIN_WIDTHS)
    ]
    widths[1] = min(widths[1], 14)
    rest = max(0, width - sum(widths[i] for i in (0, 1, 3, 4, 5, 6)) - 2 * 7)
    widths[2] = rest * 3 // 7
    widths[7] = rest - widths[2]
    return widths


def merged(pieces: list[Piece]) -> list[Piece]:
    """Neighbours of one style joined: each segment drawn costs more than its length."""
    out: list[Piece] = []
    for text, style in pieces:
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text, style)
        elif text:
            out.append((text, style))
    return out


class Rows:
    """Lines already cut to width, drawn as plain segments: none of Text's wrapping work."""

    def __init__(self, lines: list[list[Piece]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            for text, style in line:
                yield Segment(text, console.get_style(style) if style else None)
            yield Segment.line()


def futures_table(
    futures: Sequence[FutureSpan], now: float, rows: int, width: int = 100
) -> Rows:
    """The futures, one line each, in columns laid out by hand.

    It is drawn several times a second with up to dozens of rows, on a thread that holds
    the GIL while it draws: fixed-width lines cost a small fraction of a Rich ``Table``.
    """
    shown, hidden = visible_futures(futures, rows)
    header = [[(name, "bold")] for name in COLUMNS]
    cells = [header, *(future_row(f, now) for f in shown)]
    widths = column_widths(cells, width)
    lines: list[list[Piece]] = []
    for row in cells:
        pieces: list[Piece] = []
        for i, (cell, w) in enumerate(zip(row, widths, strict=True)):
            pieces += fit(cell, w, right=i == 4, pad=i < 7)
            if i < 7:
                pieces.append(("  ", ""))
        lines.append(merged(pieces))
    if hidden:
        lines.append([(f"    ... and {plural(hidden, 'earlier future')}", "dim")])
    return Rows(lines)


def notices_text(tracker: RunTracker, width: int) -> tuple[Text, int]:
    """The latest notices, and how many lines they take."""
    text, lines = Text(), 0
    for n in list(tracker.notices)[-NOTICES:]:
        # at most two lines each, so the frame's height stays predictable
        wrapped = textwrap.wrap(f"{n.level}: {n.message}", width)
        if len(wrapped) > 2:
            wrapped = [wrapped[0], textwrap.shorten(" ".join(wrapped[1:]), width, placeholder=" ...")]
        if text:
            text.append("\n")
        text.append("\n".join(wrapped), style="yellow" if n.level in ("warning", "error") else "dim")
        lines += len(wrapped)
    return text, lines


def footer(tracker: RunTracker, now: float) -> Text:
    run = tracker.run
    if tracker.finished is not None:
        now = min(now, tracker.finished.t)  # the clock stops with the run
    parts = [
        short_model(run.model) if run is not None else "starting",
        f"turn {tracker.turn}",
        f"{tracker.tokens:,} tokens",
        f"${tracker.cost_usd:.4f}",
        f"wall {seconds(now)}",
        f"overlap saved {seconds(overlap_saved(tracker, now))}",
    ]
    if (context := context_use(tracker)) is not None:
        parts.append(context)  # last: a narrow terminal cuts it before the figures above
    return Text(" · ".join(parts), style="bold", no_wrap=True, overflow="ellipsis")


def context_use(tracker: RunTracker) -> str | None:
    """The last request's size against the budget, and the compactions so far."""
    sized = [r for r in list(tracker.requests) if r.budget]
    if not sized:
        return None
    last = sized[-1]
    text = f"context {kilo(last.tokens)}/{kilo(last.budget)}"
    if n := len(tracker.compactions):
        text += f", {plural(n, 'compaction')}"
    return text


def kilo(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def header(tracker: RunTracker) -> Text:
    run = tracker.run
    if run is None:
        return Text("starting: preparing the work area, the sandbox and the model", style="dim")
    parts = [f"run {run.run_id}", f"{run.mode} mode", f"{run.sandbox} sandbox"]
    if tracker.finished is not None:
        parts.insert(0, f"{tracker.finished.status} ({tracker.finished.exit_reason})")
    if run.branch:
        parts.append(f"branch {run.branch}")
    return Text(" · ".join(parts), style="dim", no_wrap=True, overflow="ellipsis")


def render(tracker: RunTracker, now: float, *, width: int = 100, height: int = 40) -> RenderableType:
    """One frame: header, the current turn's text, the futures, notices, the footer."""
    futures = list(tracker.futures.values())
    notices, notice_lines = notices_text(tracker, width)
    # fixed lines: header, footer, the panel's borders, the table's header, and one spare
    # so the frame never fills the screen (Live then scrolls it)
    room = max(0, height - 6 - notice_lines)
    text_lines = max(2, min(TEXT_LINES, room - len(futures)))
    rows = max(1, room - text_lines)
    parts: list[RenderableType] = [
        header(tracker),
        text_panel(tracker, now, width, text_lines),
    ]
    if futures:
        parts.append(futures_table(futures, now, rows, width))
    if notice_lines:
        parts.append(notices)
    parts.append(footer(tracker, now))
    return Group(*parts)


# -- the summary after the run -------------------------------------------------------


def times_line(summary: Summary) -> Text:
    """Where the time went, what the overlap saved, and the critical path."""
    chain = " → ".join(step.name for step in summary.critical_path)
    return Text(
        f"time: agent {seconds(summary.wall_s)} · model {seconds(summary.model_s)} · "
        f"tools {seconds(summary.tool_s)} · overlap saved {seconds(summary.saved_s)}\n"
        f"critical path: model {seconds(summary.critical_model_s)} + "
        f"futures {seconds(summary.critical_tool_s)} ({chain})",
        no_wrap=True, overflow="ellipsis",
    )


def final_summary(
    result: dict[str, Any], tracker: RunTracker | None, width: int = 100
) -> RenderableType:
    """Outcome, branch, patch, the futures table and the times, from result.json's fields."""
    outcome = f"{result.get('status', '?')} ({result.get('exit_reason', '?')})"
    head = Text(outcome, style="bold green" if result.get("status") == "solved" else "bold red")
    if result.get("branch"):
        head.append(f" · branch {result['branch']}")
        if result.get("commit"):
            head.append(f" at {str(result['commit'])[:12]}")
    head.append(f" · patch {result.get('patch_bytes', 0):,} bytes")
    head.append(f" · {plural(int(result.get('turns') or 0), 'turn')}")
    head.append(f" · wall {seconds(float(result.get('wall_s') or 0.0))}")
    parts: list[RenderableType] = [head]
    if result.get("error"):
        parts.append(Text(f"error: {result['error']}", style="red"))
    if result.get("final_answer"):
        parts.append(Text(str(result["final_answer"]).strip()))
    if tracker is not None and tracker.futures:
        futures = list(tracker.futures.values())
        parts.append(futures_table(futures, tracker.activity_end(), len(futures), width))
    if tracker is not None:
        parts.append(times_line(summarize(tracker)))
    for key, label in (("patch_file", "patch: "), ("out_dir", "record:")):
        if result.get(key):
            parts.append(Text(f"{label} {result[key]}", style="dim"))
    return Group(*parts)


def print_final_summary(
    result: dict[str, Any], trajectory: Path, console: Console | None = None
) -> None:
    try:
        tracker: RunTracker | None = RunTracker.from_events(load_events(trajectory))
    except OSError:
        tracker = None  # the summary still has the outcome, branch and patch
    console = console or Console()
    console.print(final_summary(result, tracker, console.width))


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
        self._live: Live | None = None

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
        self._live = Live(
            console=self.console, get_renderable=self.frame, auto_refresh=True,
            refresh_per_second=self.refresh_per_second, transient=True,
            redirect_stdout=True, redirect_stderr=True,
        )
        self._live.start(refresh=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()  # transient: the frame is erased, the cursor shown again
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
        (2.8, ev.FirstToken(2)),
        (3.0, ev.FutureCreated("f3", "edit_file", {"path": "dates/parse.py", "old": "a", "new": "b"}, [], "w:dates/parse.py", 2)),
        (3.01, ev.FutureStarted("f3", 0, False)),
        (3.02, ev.WorkspaceEdited(1, ["dates/parse.py"], "f3")),
        (3.03, ev.FutureResolved("f3", "edit_file", "resolved", None, 0.02, 0, "[f3]\nedited")),
        (3.1, ev.ResponseDone(2, "Fixing the empty case.", 1, 420, 20, 0.0, 0.9, "tool_calls")),
        (3.1, ev.FutureDelivered("f3", "inline", 2)),
        (3.2, ev.RequestSent(3, 7)),
        (4.0, ev.FutureOutput("f1", "tests/test_format.py .........\n")),
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

