"""The report of a benchmark: per workload, the modes' wall times and the derived figures.

Medians over the repeats throughout. The lower bound is that of the async runs (the
script's timing with the tools taking what they took in async mode), and efficiency is
that bound over the median async wall time.
"""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bounds import MODES, Mode, Plan, simulate
from .features import median_figures
from .measure import RunRecord, median

if TYPE_CHECKING:
    from .catalog import Workload
    from .runner import Settings

#: Below this many seconds a difference between two medians is noise whatever the runs say.
NOISE_FLOOR_S = 0.25
#: ... and below this share of the slower median.
NOISE_SHARE = 0.03
VERSION = 1


def report(
    settings: Settings,
    results: Sequence[tuple[Workload, list[RunRecord], Plan]],
    *,
    started: float,
    finished: float,
) -> dict[str, Any]:
    from .runner import grace_of

    return {
        "version": VERSION,
        "sandbox": settings.sandbox,
        "profile": settings.profile.as_dict() if settings.profile else "script",
        "repeat": settings.repeat,
        "quick": settings.quick,
        "grace_s": grace_of(settings),
        "out_dir": _home_relative(settings.out_dir),
        "host": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "started": started,
        "seconds": round(finished - started, 1),
        "workloads": [
            workload_report(w, runs, plan, settings.scale_of(w)) for w, runs, plan in results
        ],
    }


def _home_relative(path: Path) -> str:
    """``~/...`` for a path under the home folder: a report can be shared as it is."""
    try:
        return "~/" + path.resolve().relative_to(Path.home().resolve()).as_posix()
    except ValueError:
        return str(path)


def _r(x: float, nd: int = 3) -> float:
    return round(x, nd)


def _stats_ms(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "median": None, "p90": None, "max": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "median": _r(statistics.median(values) * 1000, 1),
        "p90": _r(p90 * 1000, 1),
        "max": _r(max(values) * 1000, 1),
    }


def mode_report(runs: list[RunRecord]) -> dict[str, Any]:
    walls = [r.wall_s for r in runs]
    figs = [r.figures for r in runs]
    return {
        "wall_s": [_r(w) for w in walls],
        "median_s": _r(median(walls)),
        "min_s": _r(min(walls)) if walls else None,
        "max_s": _r(max(walls)) if walls else None,
        "setup_s": _r(median(r.setup_s for r in runs)),
        "teardown_s": _r(median(r.teardown_s for r in runs)),
        "session_loop_s": [r.loop_s for r in runs],
        "model_s": _r(median(r.model_s for r in runs)),
        "model_idle_s": _r(median(r.wall_s - r.model_s for r in runs)),
        "tool_s": _r(median(r.tool_s for r in runs)),
        "ideal_s": _r(median(f["ideal_s"] for f in figs)),
        "overhead_s": _r(median(f["overhead"]["total_s"] for f in figs)),
        "overhead": {
            k: _r(median(f["overhead"][k] for f in figs)) for k in ("requests_s", "grace_s", "other_s")
        },
        "between_turns": {
            k: _r(median(f["between_turns"][k] for f in figs)) for k in ("await_s", "other_s")
        },
        "turns": [len(r.turns) for r in runs],
        "status": [r.status for r in runs],
        "dispatch_delay_ms": _stats_ms([d for f in figs for d in f["dispatch_delays_s"]]),
        "features": median_figures([r.features for r in runs]),
    }


def tolerance(a: list[float], b: list[float], tool_noise: float = 0.0) -> float:
    """How far apart two medians may be and still count as equal: the spread of the runs,
    what differing tool durations explain, and a floor for single runs and tiny figures."""
    spread = max((max(x) - min(x)) / 2 for x in (a, b) if x) if (a or b) else 0.0
    slower = max(median(a), median(b))
    return max(NOISE_FLOOR_S, NOISE_SHARE * slower, spread, tool_noise)


def median_durations(runs: list[RunRecord]) -> dict[str, float]:
    by_id: dict[str, list[float]] = {}
    for r in runs:
        for f in r.futures:
            by_id.setdefault(f.id, []).append(f.duration_s)
    return {fid: median(v) for fid, v in by_id.items()}


def tool_noise(plan: Plan, mode: Mode, own: list[RunRecord], other: list[RunRecord]) -> float:
    """How much ``mode`` would gain or lose if its tools had taken what they took in the
    other mode's runs: the share of a difference that is the machine's, not the mode's."""
    mine, theirs = median_durations(own), median_durations(other)
    return abs(simulate(plan, theirs, mode).makespan_s - simulate(plan, mine, mode).makespan_s)


def patch_check(runs: list[RunRecord]) -> dict[str, Any]:
    shas = {
        mode: [hashlib.sha256(r.patch.encode()).hexdigest()[:12] for r in runs if r.mode == mode]
        for mode in MODES
    }
    distinct = {s for v in shas.values() for s in v}
    reference = runs[0] if runs else None
    mismatch = [
        f"{r.mode} #{r.repeat + 1}" for r in runs if reference is not None and r.patch != reference.patch
    ]
    return {
        "agree": len(distinct) <= 1,
        "sha": shas,
        "empty": bool(reference is not None and not reference.patch.strip()),
        "differ_from_first": mismatch,
    }


def workload_report(
    workload: Workload, runs: list[RunRecord], plan: Plan, scale: float
) -> dict[str, Any]:
    by_mode = {m: [r for r in runs if r.mode == m] for m in MODES}
    modes = {m: mode_report(rs) for m, rs in by_mode.items() if rs}
    med = {m: modes[m]["median_s"] for m in modes}
    asyncs = by_mode["async"]
    bounds = [r.figures["lower_bound_s"] for r in asyncs]
    lower = median(bounds)
    middle = _median_run(asyncs)

    def ratio(a: str, b: str) -> float | None:
        if a in med and b in med and med[b] > 0:
            return _r(med[a] / med[b])
        return None

    walls = {m: [r.wall_s for r in rs] for m, rs in by_mode.items()}
    checks: dict[str, Any] = {}
    for faster, slower in (("async", "parallel"), ("parallel", "sync"), ("async", "plain")):
        if faster in med and slower in med:
            noise = tool_noise(plan, faster, by_mode[faster], by_mode[slower])
            tol = tolerance(walls[faster], walls[slower], noise)
            checks[f"{faster}_not_slower_than_{slower}"] = med[faster] <= med[slower] + tol
            checks[f"{faster}_vs_{slower}_tolerance_s"] = _r(tol)
            checks[f"{faster}_vs_{slower}_tool_noise_s"] = _r(noise)
    statuses = {r.status for r in runs}
    checks["same_status_in_every_run"] = len(statuses) <= 1
    out: dict[str, Any] = {
        "name": workload.name,
        "description": workload.description,
        "scale": scale,
        "modes": modes,
        "lower_bound_s": _r(lower),
        "speedup_vs_sync": ratio("sync", "async"),
        "speedup_vs_parallel": ratio("parallel", "async"),
        # async against itself without memoized, speculative futures and early wake-ups
        "speedup_vs_plain": ratio("plain", "async"),
        "parallel_vs_sync": ratio("sync", "parallel"),
        "efficiency": _r(lower / med["async"]) if asyncs and med["async"] > 0 else None,
        "lower_bound": {
            "runs_s": [_r(b) for b in bounds],
            "model_s": _r(middle.figures["model_script_s"]) if middle else None,
            "critical_path_s": _r(lower),
            "critical_path": middle.figures["critical_path"] if middle else [],
            # the same async run's own critical path, as measured from its events
            "measured_critical_path": middle.measured_path if middle else [],
        },
        "model_idle_s": {m: modes[m]["model_idle_s"] for m in modes},
        "early_dispatch": {
            "head_start_s": _r(median(r.figures["head_start_s"] for r in asyncs)),
            "saved_vs_parallel_s": _r(med["parallel"] - med["async"])
            if "parallel" in med and "async" in med else None,
        },
        "dispatch_delay_ms": modes["async"]["dispatch_delay_ms"] if "async" in modes else None,
        # where async saved time past plain async, median over its runs (bench/features.py)
        "features": dict(modes["async"]["features"], saved_vs_plain_s=_r(med["plain"] - med["async"]))
        if "async" in modes and "plain" in modes else modes["async"]["features"] if "async" in modes else None,
        "snapshot_ms": _stats_ms([s for r in asyncs for s in r.figures["snapshot_s"]]),
        "async_overhead_s": {
            k: _r(median(r.figures["overhead"][k] for r in asyncs))
            for k in ("requests_s", "grace_s", "other_s", "total_s")
        } if asyncs else None,
        "patches": patch_check(runs),
        "checks": checks,
    }
    if workload.targets:
        out["targets"] = {
            key: {
                "target": goal,
                "value": out.get(key),
                "met": out.get(key) is not None and out[key] >= goal,
            }
            for key, goal in workload.targets.items()
        }
    return out


def _median_run(runs: list[RunRecord]) -> RunRecord | None:
    """The run whose wall time is the median (the lower of the two middle ones)."""
    if not runs:
        return None
    ordered = sorted(runs, key=lambda r: r.wall_s)
    return ordered[(len(ordered) - 1) // 2]


def failures(report: dict[str, Any]) -> list[str]:
    """What makes a benchmark run fail (not its figures): runs that broke, disagreeing
    patches or statuses."""
    out = []
    for w in report["workloads"]:
        for mode, m in w["modes"].items():
            broken = [s for s in m["status"] if s == "error"]
            if broken:
                out.append(f"{w['name']}: {len(broken)} {mode} run(s) ended in an error")
        if not w["patches"]["agree"]:
            out.append(f"{w['name']}: the patches differ between runs ({w['patches']['sha']})")
        if w["patches"]["empty"]:
            out.append(f"{w['name']}: the runs produced no patch")
        if not w["checks"].get("same_status_in_every_run", True):
            out.append(f"{w['name']}: the runs ended with different statuses")
    return out
