"""Showing a benchmark report: tables for the terminal, and an SVG bar chart.

Both read only the report dictionary (as ``--json-out`` writes it), so a saved report can
be shown again. The chart is written by hand: one panel per workload with its own scale
(the workloads differ by an order of magnitude), the modes beside the lower bound.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

MODE_COLOURS = {"sync": "#c44e52", "parallel": "#dd8452", "plain": "#8c8c8c", "async": "#4c72b0"}
#: The modes in the tables and the chart, in this order.
SHOWN = ("sync", "parallel", "plain", "async")
BOUND_COLOUR = "#55a868"


def _s(x: float | None, unit: str = " s", nd: int = 1) -> str:
    return "-" if x is None else f"{x:.{nd}f}{unit}"


def _x(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def header(rep: dict[str, Any]) -> str:
    prof = rep["profile"]
    if isinstance(prof, dict):
        profile = f"{prof['name']} (first token {prof['ttft_s']:g} s, {prof['tokens_per_s']:g} tokens/s)"
    else:
        profile = "each script's own"
    runs = "1 run" if rep["repeat"] == 1 else f"median of {rep['repeat']} runs"
    quick = ", quick" if rep.get("quick") else ""
    return (
        f"{rep['sandbox']} sandbox, profile {profile}{quick}; {runs} per mode, modes interleaved\n"
        "wall time: the agent loop, from the first request to the end of the last response"
    )


def table(rep: dict[str, Any]) -> str:
    """The main figures, one line per workload."""
    cols = ["workload", "sync", "parallel", "plain", "async", "bound", "vs sync", "vs par.",
            "vs plain", "effic.", "patches"]
    rows = []
    for w in rep["workloads"]:
        m = w["modes"]
        rows.append([
            w["name"],
            *[_s(m[k]["median_s"]) if k in m else "-" for k in SHOWN],
            _s(w["lower_bound_s"]),
            _x(w["speedup_vs_sync"]),
            _x(w["speedup_vs_parallel"]),
            _x(w.get("speedup_vs_plain")),
            "-" if w["efficiency"] is None else f"{w['efficiency']:.2f}",
            "same" if w["patches"]["agree"] else "DIFFER",
        ])
    return _grid(cols, rows)


def time_table(rep: dict[str, Any]) -> str:
    """Where the time goes: idle model, early dispatch, the executor's own delays."""
    cols = ["workload", "model", "idle sync/par/async", "head start", "saved vs par.",
            "dispatch med/p90", "snapshot", "async overhead req/grace/other", "set-up"]
    rows = []
    for w in rep["workloads"]:
        idle = "/".join(_s(w["model_idle_s"].get(k), "", 1) for k in ("sync", "parallel", "async"))
        d = w.get("dispatch_delay_ms") or {}
        snap = w.get("snapshot_ms") or {}
        ov = w.get("async_overhead_s") or {}
        setup = max((m["setup_s"] for m in w["modes"].values()), default=None)
        rows.append([
            w["name"],
            _s(w["lower_bound"]["model_s"]),
            idle + " s",
            _s(w["early_dispatch"]["head_start_s"]),
            _s(w["early_dispatch"]["saved_vs_parallel_s"]),
            f"{_s(d.get('median'), '', 1)}/{_s(d.get('p90'), '', 1)} ms",
            _s(snap.get("median"), " ms"),
            "/".join(_s(ov.get(k), "", 2) for k in ("requests_s", "grace_s", "other_s")) + " s",
            _s(setup),
        ])
    return _grid(cols, rows)


def features_table(rep: dict[str, Any]) -> str:
    """Where async saved time past plain async: memo hits, speculative runs, early
    wake-ups (count and seconds, medians of the async runs)."""
    cols = ["workload", "saved vs plain", "memo hits", "speculative joins/started",
            "unused speculative", "early wake-ups"]
    rows = []
    for w in rep["workloads"]:
        f = w.get("features")
        if not f:
            continue
        rows.append([
            w["name"],
            _s(f.get("saved_vs_plain_s")),
            f"{f['memo_hits']:g} ({_s(f['memo_saved_s'])})",
            f"{f['speculative_joins']:g}/{f['speculative_started']:g} ({_s(f['speculative_saved_s'])})",
            _s(f["speculative_unused_s"]),
            f"{f['early_wakeups']:g} ({_s(f['early_wakeup_saved_s'])})",
        ])
    return _grid(cols, rows) if rows else ""


def verdicts(rep: dict[str, Any]) -> list[str]:
    """Targets and checks, one line each."""
    lines = []
    for w in rep["workloads"]:
        for key, t in (w.get("targets") or {}).items():
            if rep.get("quick"):  # the targets are for full runs; a quick run shows a trend
                mark = ("met" if t["met"] else "missed") + " in a quick run"
            else:
                mark = "met" if t["met"] else "MISSED"
            if t["value"] is None:  # a mode it needs was not run
                lines.append(f"{w['name']}: {key} (target {t['target']:g}): not measured")
                continue
            value = f"{t['value']:.2f}"
            lines.append(f"{w['name']}: {key} {value} (target {t['target']:g}): {mark}")
        checks = w["checks"]
        for key in ("async_not_slower_than_parallel", "parallel_not_slower_than_sync",
                    "async_not_slower_than_plain"):
            if key in checks and not checks[key]:
                tol = checks.get(_tolerance_key(key))
                lines.append(f"{w['name']}: {key.replace('_', ' ')}: NO (beyond {tol} s of noise)")
    return lines


def _tolerance_key(check: str) -> str:
    a, _, b = check.partition("_not_slower_than_")
    return f"{a}_vs_{b}_tolerance_s"


def render(rep: dict[str, Any]) -> str:
    parts = [header(rep), "", table(rep), "", time_table(rep)]
    if features := features_table(rep):
        parts += ["", features]
    lines = verdicts(rep)
    if lines:
        parts += ["", *lines]
    return "\n".join(parts)


def _grid(cols: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return "\n".join([line(cols), line(["-" * w for w in widths]), *(line(r) for r in rows)])


# --- the chart ---------------------------------------------------------------------------

PANEL_W, PANEL_H = 230, 250
TOP, BOTTOM, LEFT = 70, 24, 46


def svg(rep: dict[str, Any]) -> str:
    """A bar chart: per workload, the median wall time of each mode and the lower bound."""
    workloads = rep["workloads"]
    width = LEFT + PANEL_W * max(1, len(workloads)) + 10
    height = TOP + PANEL_H + BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">'
        f"Wall time of the agent loop: sync, parallel, plain async and async tool calls</text>",
        f'<text x="{LEFT}" y="38" fill="#555">{escape(header(rep).splitlines()[0])}</text>',
    ]
    out += _legend(LEFT, 56)
    for i, w in enumerate(workloads):
        out += _panel(w, LEFT + i * PANEL_W, TOP)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _legend(x: int, y: int) -> list[str]:
    items = [(m, MODE_COLOURS[m], False) for m in SHOWN]
    items.append(("lower bound", BOUND_COLOUR, True))
    out = []
    for name, colour, outline in items:
        fill = "none" if outline else colour
        dash = ' stroke-dasharray="3,2"' if outline else ""
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{fill}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{x + 16}" y="{y}">{escape(name)}</text>')
        x += 24 + 8 * len(name)
    return out


def _axis(v: float) -> tuple[float, float, int]:
    """(top, step, intervals) of an axis that holds ``v`` in at most five intervals of a
    round size (1, 2 or 5 times a power of ten)."""
    magnitude = 10 ** math.floor(math.log10(max(v, 1e-9) / 5))
    for m in (1, 2, 5, 10, 20):
        step = m * magnitude
        n = math.ceil(v / step - 1e-9)
        if n <= 5:
            return n * step, step, max(n, 1)
    return v, v, 1  # pragma: no cover (20 * magnitude * 5 >= v always)


def _panel(w: dict[str, Any], x0: int, y0: int) -> list[str]:
    modes = w["modes"]
    bars = [(m, modes[m]["median_s"], MODE_COLOURS[m]) for m in SHOWN if m in modes]
    values = [v for _, v, _ in bars] + [w["lower_bound_s"]]
    top, step, intervals = _axis(max([*values, 0.1]) * 1.08)
    plot_h = PANEL_H - 30
    base = y0 + plot_h
    scale = plot_h / top
    out = [f'<text x="{x0 + PANEL_W / 2 - 10}" y="{base + 36}" text-anchor="middle" '
           f'font-weight="bold">{escape(w["name"])}</text>']
    for k in range(intervals + 1):  # grid lines and their labels
        v = step * k
        y = base - v * scale
        out.append(f'<line x1="{x0}" x2="{x0 + PANEL_W - 30}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#777" '
                   f'font-size="10">{v:g} s</text>')
    bar_w, gap = 34, 12
    x = x0 + 12
    for name, v, colour in bars:
        h = v * scale
        out.append(f'<rect x="{x}" y="{base - h:.1f}" width="{bar_w}" height="{h:.1f}" fill="{colour}">'
                   f"<title>{escape(name)}: {v:.2f} s</title></rect>")
        out.append(f'<text x="{x + bar_w / 2}" y="{base - h - 4:.1f}" text-anchor="middle" '
                   f'font-size="10">{v:.1f}</text>')
        x += bar_w + gap
    lb = w["lower_bound_s"]
    h = lb * scale
    out.append(f'<rect x="{x}" y="{base - h:.1f}" width="{bar_w}" height="{h:.1f}" fill="none" '
               f'stroke="{BOUND_COLOUR}" stroke-width="2" stroke-dasharray="4,3">'
               f"<title>lower bound: {lb:.2f} s</title></rect>")
    out.append(f'<text x="{x + bar_w / 2}" y="{base - h - 4:.1f}" text-anchor="middle" '
               f'font-size="10">{lb:.1f}</text>')
    sp = w.get("speedup_vs_sync")
    eff = w.get("efficiency")
    note = f"async {_x(sp)} vs sync" + ("" if eff is None else f", eff. {eff:.2f}")
    out.append(f'<text x="{x0 + PANEL_W / 2 - 10}" y="{base + 18}" text-anchor="middle" '
               f'fill="#555" font-size="11">{escape(note)}</text>')
    return out
