"""The HTML page of ``report --html``: a run's time line drawn as inline SVG.

One lane for the model (a segment per request, from sending it to its last token) and
one bar per future (from dispatch to resolution, coloured by outcome, with a diamond where
its result was delivered to the model). The page is a single file with no network
resources: inline CSS, no scripts, no fonts to fetch; tooltips are SVG ``<title>``s.

Everything shown comes from the run, and much of it from the sandbox and the model
(arguments, errors, file names, the task): all of it goes through ``esc``, in text,
attributes and SVG alike, so it cannot become markup. The SVG is well-formed XML (control
characters are shown as ``sanitize`` shows them in a terminal), so tests and tools can
parse it.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from ..agent.timeline import FutureSpan, RequestSpan, RunTracker, Summary, summarize
from ..tools.text import some_paths
from .plain import short_args
from .sanitize import sanitize

LABEL_W = 170  # px for the row labels on the left
PLOT_W = 900  # px for the time axis
LANE_H = 26  # the model lane
ROW_H = 20  # one future
ROW_GAP = 4
AXIS_H = 30

CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #1f2328; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #59636e; margin-bottom: 16px; }
table { border-collapse: collapse; margin: 12px 0 24px; }
th, td { padding: 3px 10px; text-align: left; border-bottom: 1px solid #d1d9e0;
         white-space: nowrap; }
td.args { white-space: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
            vertical-align: -1px; border-radius: 2px; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; }
svg .axis text { fill: #59636e; font-size: 11px; }
svg .grid { stroke: #eaeef2; }
svg .request { fill: #6f42c1; }
svg .ttft { fill: #c5b3ea; }
svg .wake { fill: #bf3989; }
svg .waited, svg .waiting { fill: #d1d9e0; }
svg .speculative { fill-opacity: 0.45; stroke: #4c72b0; stroke-dasharray: 3 2; }
svg .ok { fill: #2da44e; }
svg .nonzero { fill: #d4a72c; }
svg .failed { fill: #cf222e; }
svg .cancelled { fill: #8c959f; }
svg .timed-out { fill: #953800; }
svg .running { fill: #0969da; }
svg .critical { stroke: #1f2328; stroke-width: 2; }
svg .delivered { fill: #1f2328; }
svg .handle { fill: #fff; stroke: #1f2328; stroke-width: 1.5; }
svg .stale { fill: #953800; font-size: 11px; }
"""

LEGEND = [
    ("request", "model request"), ("ttft", "waiting for the first token"),
    ("wake", "request of a wake-up turn"),
    ("ok", "resolved"), ("nonzero", "resolved, exit status not 0"), ("failed", "failed"),
    ("timed-out", "timed out"), ("cancelled", "cancelled"), ("waited", "waiting to start"),
]


#: The final states that have a colour of their own.
OUTCOMES = frozenset({"failed", "cancelled", "timed-out"})


def esc(value: object) -> str:
    """Text for an HTML or SVG text node or a quoted attribute value."""
    return html.escape(sanitize(str(value)), quote=True)


def outcome_class(f: FutureSpan) -> str:
    """The CSS class of a future's bar: its final state, resolved split by exit status."""
    if f.status is None:  # a trajectory cut short (a killed run)
        return "running" if f.started_t is not None else "waiting"
    if f.status == "resolved":
        return "ok" if f.exit_code in (None, 0) else "nonzero"
    state = f.status.replace(" ", "-")
    return state if state in OUTCOMES else "failed"  # a trajectory from elsewhere


def tick_step(span: float) -> float:
    """A round step giving about eight ticks over ``span`` seconds."""
    raw = max(span / 8, 1e-3)
    power: float = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


@dataclass(frozen=True)
class Scale:
    origin: float
    span: float

    def x(self, t: float) -> float:
        return LABEL_W + (t - self.origin) / self.span * PLOT_W

    def w(self, start: float, end: float) -> float:
        return max(1.0, (end - start) / self.span * PLOT_W)


def _rect(cls: str, scale: Scale, start: float, end: float, y: float, h: float, tip: str) -> str:
    return (
        f'<rect class="{cls}" x="{scale.x(start):.1f}" y="{y:.1f}" '
        f'width="{scale.w(start, end):.1f}" height="{h:.1f}"><title>{esc(tip)}</title></rect>'
    )


def request_svg(r: RequestSpan, scale: Scale, end: float, critical: bool) -> str:
    done = r.end(end)
    tokens = f"{r.prompt_tokens} in, {r.completion_tokens} out"
    tip = f"{r.label}: {done - r.sent_t:.2f} s, {tokens}, {r.calls} call(s)"
    cls = "request critical" if critical else "request"
    cls += " wake" if r.woke else ""
    parts = [_rect(cls, scale, r.sent_t, done, 2, LANE_H - 4, tip)]
    if r.first_token_t is not None and r.first_token_t > r.sent_t:
        ttft = f"turn {r.turn}: first token after {r.first_token_t - r.sent_t:.2f} s"
        parts.append(_rect("ttft", scale, r.sent_t, r.first_token_t, 2, LANE_H - 4, ttft))
    return f'<g class="model-request" data-turn="{esc(r.turn)}">{"".join(parts)}</g>'


def future_tip(f: FutureSpan, end: float) -> str:
    lines = [f"{f.id} {f.tool}({short_args(f.args, 120)})", f"{f.state}"]
    if f.exit_code is not None:
        lines[-1] += f", exit {f.exit_code}"
    lines[-1] += f", {f.seconds(end):.2f} s"
    if f.tests is not None:  # a test run: its counts, and the first failure it reported
        lines.append(f"tests: {f.tests.describe(failures_first=True)}")
        lines += [failure.head() for failure in f.tests.failures[:1]]
    if f.workspace_rev is not None:
        lines.append(f"ran on rev {f.workspace_rev}")
    if f.stale:
        lines.append("stale: " + some_paths(sorted(f.stale_paths)))
    if f.delivered_t is not None:
        lines.append(f"delivered ({f.delivered_via}) at {f.delivered_t:.2f} s")
    if f.speculative:
        joined = ", ".join(f.joiners) or "no call"
        lines.append(f"started ahead of the model after an edit (speculative); joined by {joined}")
    if f.joined is not None:
        how = "a speculative run" if f.joined_speculative else "the resolved run" if f.reused else "the run"
        lines.append(f"result of {how} {f.joined}, {f.head_start_s:.2f} s ahead")
    if f.error:
        lines.append(f.error)
    return "\n".join(lines)


def future_svg(f: FutureSpan, scale: Scale, y: float, end: float, critical: bool) -> str:
    ended = f.ended_t if f.ended_t is not None else end
    tip = future_tip(f, end)
    cls = f"bar {outcome_class(f)}" + (" critical" if critical else "")
    cls += " speculative" if f.speculative else " joined" if f.joined is not None else ""
    mark = " (speculative)" if f.speculative else ""
    parts = [
        f'<text x="6" y="{y + ROW_H - 6:.1f}">{esc(f.id)} {esc(f.tool)}{mark}</text>',
        _rect(cls, scale, f.created_t, ended, y + 2, ROW_H - 4, tip),
    ]
    if f.started_t is not None and f.started_t - f.created_t > 0.01:
        parts.append(_rect("waited", scale, f.created_t, f.started_t, y + 2, ROW_H - 4, tip))
    mid = y + ROW_H / 2
    if f.handle_t is not None:
        parts.append(f'<circle class="handle" cx="{scale.x(f.handle_t):.1f}" cy="{mid:.1f}" r="4">'
                     f"<title>handle returned at {f.handle_t:.2f} s</title></circle>")
    if f.delivered_t is not None:
        x = scale.x(f.delivered_t)
        parts.append(
            f'<path class="delivered" d="M{x:.1f} {mid - 6:.1f} l5 6 l-5 6 l-5 -6 z">'
            f"<title>result delivered ({esc(f.delivered_via)}) at {f.delivered_t:.2f} s</title></path>"
        )
    if f.stale:
        after = max(ended, f.delivered_t or ended)  # clear of the delivery marker
        parts.append(f'<text class="stale" x="{scale.x(after) + 10:.1f}" y="{y + ROW_H - 6:.1f}">stale</text>')
    return f'<g class="future" data-future="{esc(f.id)}">{"".join(parts)}</g>'


def axis_svg(scale: Scale, y: float, height: float) -> str:
    step = tick_step(scale.span)
    parts = ['<g class="axis">']
    for i in range(int(scale.span / step) + 1):
        t = i * step
        x = scale.x(scale.origin + t)
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 16:.1f}" text-anchor="middle">{t:g} s</text>')
    parts.append("</g>")
    return "".join(parts)


def timeline_svg(tracker: RunTracker, summary: Summary) -> str:
    """The time line: the model lane on top, a row per future, seconds since the start."""
    end = tracker.activity_end()
    scale = Scale(tracker.origin, max(end - tracker.origin, 1e-3))
    critical = {s.name for s in summary.critical_path}
    futures = [*tracker.futures.values(), *tracker.speculative.values()]
    rows_h = LANE_H + len(futures) * (ROW_H + ROW_GAP)
    height = rows_h + AXIS_H
    width = LABEL_W + PLOT_W + 60
    parts = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="time line of the run">',
        axis_svg(scale, rows_h, height),
        f'<text x="6" y="{LANE_H - 9}">model</text>',
    ]
    parts += [request_svg(r, scale, end, f"turn {r.turn}" in critical) for r in tracker.requests]
    for i, f in enumerate(futures):
        y = LANE_H + ROW_GAP + i * (ROW_H + ROW_GAP)
        parts.append(future_svg(f, scale, y, end, f.id in critical))
    parts.append("</svg>")
    return "\n".join(parts)


def metrics_html(summary: Summary) -> str:
    rows = [
        ("agent time (run start to last activity)", summary.wall_s),
        ("model time (sum of requests)", summary.model_s),
        ("tool time (sum of futures)", summary.tool_s),
        (f"speculative runs, apart ({summary.speculative}, {summary.speculative_joined} joined)",
         summary.speculative_s),
        ("saved by the overlap (model + tools - agent time)", summary.saved_s),
        ("critical path: model", summary.critical_model_s),
        ("critical path: futures", summary.critical_tool_s),
    ]
    body = "".join(f'<tr><td>{esc(k)}</td><td class="num">{v:.2f} s</td></tr>' for k, v in rows)
    return f"<table>{body}</table>"


def futures_html(tracker: RunTracker) -> str:
    end = tracker.activity_end()
    head = ("id", "tool", "args", "state", "dispatched", "ran", "rev", "delivered")
    rows = []
    for f in [*tracker.futures.values(), *tracker.speculative.values()]:
        state = f.state + (f", exit {f.exit_code}" if f.exit_code is not None else "")
        if f.tests is not None:
            state += f", {f.tests.describe(failures_first=True)}"
        rev = "" if f.workspace_rev is None else f"{f.workspace_rev}{' stale' if f.stale else ''}"
        delivered = f"{f.delivered_t - tracker.origin:.2f} s ({f.delivered_via})" if f.delivered_t is not None else "no"
        tool = f"{f.tool} (speculative)" if f.speculative else f.tool
        if f.joined is not None:
            tool += f" (joined {f.joined})"
        cells = [f.id, tool, short_args(f.args, 80), state, f"{f.created_t - tracker.origin:.2f} s",
                 f"{f.seconds(end):.2f} s", rev, delivered]
        rows.append("<tr>" + "".join(
            f'<td class="args">{esc(c)}</td>' if i == 2 else f"<td>{esc(c)}</td>"
            for i, c in enumerate(cells)) + "</tr>")
    return _table(head, rows)


def requests_html(tracker: RunTracker) -> str:
    head = ("turn", "sent", "first token", "duration", "tokens in", "tokens out", "calls")
    rows = []
    for r in tracker.requests:
        ttft = f"{r.first_token_t - r.sent_t:.2f} s" if r.first_token_t is not None else "-"
        cells = [r.label, f"{r.sent_t - tracker.origin:.2f} s", ttft,
                 f"{r.end(tracker.activity_end()) - r.sent_t:.2f} s", r.prompt_tokens,
                 r.completion_tokens, r.calls]
        rows.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    return _table(head, rows)


def _table(head: tuple[str, ...], rows: list[str]) -> str:
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def page(tracker: RunTracker) -> str:
    """The whole self-contained HTML page of a run."""
    summary = summarize(tracker)
    run = tracker.run
    title = f"run {run.run_id}" if run is not None else "run"
    meta = []
    if run is not None:
        meta += [f"{run.mode} mode", run.model, f"{run.sandbox} sandbox"]
    if tracker.finished is not None:
        meta.append(f"{tracker.finished.status} ({tracker.finished.exit_reason})")
    task = run.task.strip().splitlines()[0] if run is not None and run.task.strip() else ""
    legend = "".join(
        f'<span><svg width="12" height="12"><rect class="{c}" width="12" height="12"/></svg> '
        f"{esc(label)}</span>" for c, label in LEGEND
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(title)}: time line</title>
<style>{CSS}</style>
</head>
<body>
<h1>{esc(title)}</h1>
<div class="meta">{esc(" · ".join(meta))}<br>{esc(task)}</div>
{metrics_html(summary)}
<div class="legend">{legend} <span>&#9670; result delivered</span> <span>&#9675; handle returned</span>
<span>outlined: on the critical path</span></div>
{timeline_svg(tracker, summary)}
<h2>Futures</h2>
{futures_html(tracker)}
<h2>Model requests</h2>
{requests_html(tracker)}
</body>
</html>
"""
