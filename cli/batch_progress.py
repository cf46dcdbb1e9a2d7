"""How a batch is watched: a Rich progress view in a terminal, or a line log (``--plain``).

Both are told the same things by the scheduler (a task started on a node, a task ended
with its summary line, Ctrl-C) and draw from one ``BatchState``, with the clock injected.
A task's error can quote what its run printed: it is sanitized like all output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .live import SerialLive
from .sanitize import sanitize_line

#: Running tasks listed under the bar; more are counted.
MAX_ROWS = 8
_MARKS = {"solved": ("✓", "green"), "unsolved": ("·", "yellow"), "failed": ("✗", "red"),
          "cancelled": ("-", "magenta")}


@dataclass
class BatchState:
    total: int
    skipped: int = 0
    started_at: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_MARKS, 0))
    running: dict[str, tuple[float, str]] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def start(self, task_id: str, node: dict[str, Any], now: float) -> None:
        self.running[task_id] = (now, node_label(node))

    def finish(self, line: dict[str, Any]) -> None:
        self.running.pop(str(line["id"]), None)
        self.counts[line["status"]] = self.counts.get(line["status"], 0) + 1

    def eta(self, now: float) -> float | None:
        """Seconds left at the pace so far; None until a task has ended."""
        elapsed = now - self.started_at
        if not self.done or elapsed <= 0:
            return None
        return (self.total - self.done) * elapsed / self.done


def node_label(node: dict[str, Any] | None) -> str:
    if not node:
        return "-"
    return f"{str(node.get('node_id', ''))[:8]} ({node.get('ip', '?')})"


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "-:--"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def finished_text(line: dict[str, Any]) -> str:
    """One line for an ended task, the same in both views."""
    mark = _MARKS.get(line["status"], ("?", ""))[0]
    wall = line.get("wall_s")
    text = f"{mark} {line['id']}: {line['status']} ({line.get('exit_reason')})"
    if wall:
        text += f" in {wall:.1f} s"
    text += f" on {node_label(line.get('node'))}"
    if line.get("error") and line["status"] != "solved":
        text += f": {str(line['error']).splitlines()[0][:160]}"
    return sanitize_line(text)


def render(state: BatchState, now: float) -> RenderableType:
    """The progress view at ``now``."""
    done, total = state.done, state.total
    c = state.counts
    head = Table.grid(padding=(0, 1))
    head.add_row(
        ProgressBar(total=max(total, 1), completed=done, width=30),
        Text(f"{done}/{total}"),
        Text(f"elapsed {clock_text(now - state.started_at)}"),
        Text(f"eta {clock_text(state.eta(now))}"),
    )
    counts = Text.assemble(
        (f"solved {c['solved']}", "green"), "  ", (f"unsolved {c['unsolved']}", "yellow"), "  ",
        (f"failed {c['failed']}", "red"), "  ", f"running {len(state.running)}", "  ",
        f"waiting {total - done - len(state.running)}",
    )
    if state.skipped:
        counts.append(f"  (skipped {state.skipped} with results)", "dim")
    if state.interrupted:
        counts.append("  cancelling...", "bold magenta")
    rows = Table.grid(padding=(0, 2))
    for task_id, (since, node) in sorted(state.running.items(), key=lambda kv: kv[1][0])[:MAX_ROWS]:
        rows.add_row(Text(f"  {sanitize_line(task_id)}"), Text(f"{now - since:5.1f} s"),
                     Text(sanitize_line(node), style="dim"))
    more = len(state.running) - MAX_ROWS
    parts: list[RenderableType] = [head, counts, rows]
    if more > 0:
        parts.append(Text(f"  and {more} more running", style="dim"))
    return Group(*parts)


class LiveProgress:
    """The Rich view; owns the ``Live`` while the batch runs. Ended tasks print above it."""

    def __init__(self, state: BatchState, *, console: Console | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.state = state
        self.console = console or Console(stderr=False)
        self.clock = clock
        self._live: SerialLive | None = None

    def __enter__(self) -> LiveProgress:
        self.state.started_at = self.clock()
        self._live = SerialLive(self.console, self.frame, refresh_per_second=4)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def frame(self) -> RenderableType:
        try:
            return render(self.state, self.clock())
        except Exception as exc:  # drawn on Live's thread: show the bug, do not lose the run
            return Text(f"(the progress view failed to draw: {exc!r})", style="red")

    def task_started(self, task_id: str, node: dict[str, Any]) -> None:
        self.state.start(task_id, node, self.clock())

    def task_finished(self, line: dict[str, Any]) -> None:
        self.state.finish(line)
        style = _MARKS.get(line["status"], ("", ""))[1]
        text = Text(finished_text(line), style=style)
        if self._live is not None:
            self._live.print(text)  # in step with the frame's redraws
        else:
            self.console.print(text)

    def interrupted(self) -> None:
        self.state.interrupted = True


class PlainProgress:
    """A line per start and end, with the batch's clock."""

    def __init__(self, state: BatchState, *, out: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.state = state
        self.out = out or sys.stdout
        self.clock = clock

    def __enter__(self) -> PlainProgress:
        self.state.started_at = self.clock()
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _print(self, text: str) -> None:
        print(f"{self.clock() - self.state.started_at:7.1f}  {text}", file=self.out, flush=True)

    def task_started(self, task_id: str, node: dict[str, Any]) -> None:
        self.state.start(task_id, node, self.clock())
        self._print(sanitize_line(f"> {task_id}: started on {node_label(node)}"))

    def task_finished(self, line: dict[str, Any]) -> None:
        self.state.finish(line)
        s = self.state
        self._print(f"{finished_text(line)}  [{s.done}/{s.total}, {len(s.running)} running]")

    def interrupted(self) -> None:
        self.state.interrupted = True
        self._print("interrupted: cancelling the running tasks")
