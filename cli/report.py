"""``report``: a run's futures, durations, overlap and critical path, from its trajectory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ..agent.timeline import RunTracker, Summary


def report(
    trajectory: Annotated[Path, typer.Argument(help="A trajectory.jsonl, or the run folder holding it.")],
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the time line as a self-contained HTML page.")] = None,  # noqa: UP045
) -> None:
    """Summarize a run: futures, durations, the overlap's saving and the critical path."""
    from rich.console import Console

    from ..agent.timeline import RunTracker, load_events, summarize, trajectory_path

    path = trajectory_path(trajectory)
    if not path.is_file():
        typer.echo(f"error: no trajectory at {path}", err=True)
        raise typer.Exit(2)
    tracker = RunTracker.from_events(load_events(path))
    if not tracker.requests and not tracker.futures:
        typer.echo(f"error: {path} holds no model requests and no futures", err=True)
        raise typer.Exit(1)
    console = Console()
    console.print(terminal_report(tracker, summarize(tracker), console.width))
    if html is not None:
        from .report_html import page

        html.write_text(page(tracker), encoding="utf-8")
        console.print(f"time line written to {html}", style="dim", highlight=False, markup=False)


def terminal_report(tracker: RunTracker, summary: Summary, width: int) -> RenderableType:
    """Run line, times, the futures table, the requests and the critical path."""
    from rich.console import Group
    from rich.text import Text

    from .frame import header
    from .run_summary import times_line
    from .sanitize import sanitize_line
    from .table import futures_table

    futures = list(tracker.futures.values())
    parts: list[RenderableType] = [header(tracker), times_line(summary)]
    if (context := context_line(tracker)) is not None:
        parts.append(Text(context))
    if futures:
        parts.append(futures_table(futures, tracker.activity_end(), len(futures), width))
    parts.append(requests_table(tracker))
    parts.append(Text("critical path:", style="bold"))
    for step in summary.critical_path:
        label = step.name if step.kind == "model" else f"{step.name} {sanitize_line(tracker.futures[step.name].tool)}"
        start, end = step.start - tracker.origin, step.end - tracker.origin
        parts.append(Text(f"  {label:<22} {start:7.2f} s → {end:7.2f} s  ({step.seconds:.2f} s)"))
    return Group(*parts)


def context_line(tracker: RunTracker) -> str | None:
    """The largest request against the budget, and the compactions it took."""
    sized = [r for r in tracker.requests if r.budget]
    if not sized:
        return None
    largest = max(sized, key=lambda r: r.tokens)
    n = len(tracker.compactions)
    return (f"context: largest request {largest.tokens:,} of {largest.budget:,} tokens, "
            f"{n} compaction{'' if n == 1 else 's'}")


def requests_table(tracker: RunTracker) -> RenderableType:
    from rich.table import Table

    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold")
    for name in ("turn", "sent", "first token", "duration", "tokens in", "out", "calls"):
        table.add_column(name, justify="left" if name == "turn" else "right", no_wrap=True)
    end = tracker.activity_end()
    for r in tracker.requests:
        ttft = f"{r.first_token_t - r.sent_t:.2f} s" if r.first_token_t is not None else "-"
        table.add_row(
            r.label, f"{r.sent_t - tracker.origin:.2f} s", ttft,
            f"{r.end(end) - r.sent_t:.2f} s", str(r.prompt_tokens), str(r.completion_tokens),
            str(r.calls),
        )
    return table
