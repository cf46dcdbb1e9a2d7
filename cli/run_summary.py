"""The summary printed after a run, from its result and its trajectory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text

from ..agent.timeline import RunTracker, Summary, load_events, summarize
from .sanitize import sanitize, sanitize_line
from .table import futures_table, plural, seconds


def times_line(summary: Summary) -> Text:
    """Where the time went, what the overlap saved, and the critical path."""
    chain = " → ".join(step.name for step in summary.critical_path)
    return Text(
        f"time: agent {seconds(summary.wall_s)} · model {seconds(summary.model_s)} · "
        f"tools {seconds(summary.tool_s)} · overlap saved {seconds(summary.saved_s)}\n"
        f"{_speculative(summary)}"
        f"critical path: model {seconds(summary.critical_model_s)} + "
        f"futures {seconds(summary.critical_tool_s)} ({chain})",
        no_wrap=True, overflow="ellipsis",
    )


def _speculative(summary: Summary) -> str:
    if not summary.speculative:
        return ""
    # on a line of its own: the time line stays whole in a narrow terminal
    return (f"speculative: {summary.speculative} started ahead of the model, "
            f"{summary.speculative_joined} joined, {seconds(summary.speculative_s)} (apart from tools)\n")


def final_summary(
    result: dict[str, Any], tracker: RunTracker | None, width: int = 100
) -> RenderableType:
    """Outcome, branch, patch, the futures table and the times, from result.json's fields."""
    outcome = sanitize_line(f"{result.get('status', '?')} ({result.get('exit_reason', '?')})")
    head = Text(outcome, style="bold green" if result.get("status") == "solved" else "bold red")
    if result.get("branch"):
        head.append(f" · branch {sanitize_line(str(result['branch']))}")
        if result.get("commit"):
            head.append(f" at {sanitize_line(str(result['commit'])[:12])}")
    head.append(f" · patch {result.get('patch_bytes', 0):,} bytes")
    head.append(f" · {plural(int(result.get('turns') or 0), 'turn')}")
    head.append(f" · wall {seconds(float(result.get('wall_s') or 0.0))}")
    parts: list[RenderableType] = [head]
    if result.get("error"):
        parts.append(Text(f"error: {sanitize(str(result['error']))}", style="red"))
    if result.get("final_answer"):
        parts.append(Text(sanitize(str(result["final_answer"]).strip())))
    if tracker is not None and tracker.futures:
        futures = list(tracker.futures.values())
        parts.append(futures_table(futures, tracker.activity_end(), len(futures), width))
    if tracker is not None:
        parts.append(times_line(summarize(tracker)))
    for key, label in (("patch_file", "patch: "), ("out_dir", "record:")):
        if result.get(key):
            parts.append(Text(f"{label} {sanitize_line(str(result[key]))}", style="dim"))
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

