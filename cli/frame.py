"""One frame of the live view: the header, the current turn's text, the futures, the
notices and the footer, as a pure function of a ``RunTracker`` and a time."""

from __future__ import annotations

import textwrap

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from ..agent.timeline import RequestSpan, RunTracker, overlap_saved
from .sanitize import sanitize, sanitize_line
from .table import futures_table, plural, seconds, short_model

#: Lines of the model's text shown, at most (fewer on a short terminal).
TEXT_LINES = 6
#: Notices shown under the futures, latest last.
NOTICES = 2


def last_lines(text: str, width: int, count: int) -> list[str]:
    """The last ``count`` lines of ``text`` wrapped at ``width``."""
    # only the tail can show, so a long response is not re-wrapped whole every frame
    tail = sanitize(text[-(width * count * 2) :])
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


def notices_text(tracker: RunTracker, width: int) -> tuple[Text, int]:
    """The latest notices, and how many lines they take."""
    text, lines = Text(), 0
    for n in list(tracker.notices)[-NOTICES:]:
        # at most two lines each, so the frame's height stays predictable
        wrapped = textwrap.wrap(f"{n.level}: {sanitize_line(n.message)}", width)
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
        sanitize_line(short_model(run.model)) if run is not None else "starting",
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
    return Text(sanitize_line(" · ".join(parts)), style="dim", no_wrap=True, overflow="ellipsis")


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

