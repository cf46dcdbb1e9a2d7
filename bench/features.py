"""Where a run's time was saved past the lower bound: memoized results, speculative runs
and early wake-ups, from the run's events.

Each mechanism gets a count and the seconds it spared the model:
- a memo hit (a call that joined a run of the model's own, running or resolved): how long
  that run had run when the call was made;
- a speculative join (a call that joined a run started at an edit): the same, counted from
  the speculative start; speculative runs nobody joined are counted apart (their time
  bought nothing);
- an early wake-up (``await_futures(until="first_failure")`` that returned at a failure):
  how long after the next request the awaited futures still ran.
"""

from __future__ import annotations

import json
from typing import Any

from ..agent.events import CallClosed, Event, FutureJoined
from ..agent.timeline import RunTracker

AWAIT = "await_futures"
FIGURES = ("memo_hits", "memo_saved_s", "speculative_started", "speculative_joins",
           "speculative_saved_s", "speculative_unused_s", "early_wakeups", "early_wakeup_saved_s")


def feature_figures(events: list[Event], tracker: RunTracker) -> dict[str, float]:
    joins = [e for e in events if isinstance(e, FutureJoined)]
    memo = [j for j in joins if not j.speculative]
    spec = [j for j in joins if j.speculative]
    end = tracker.activity_end()
    unused = [f for f in tracker.speculative.values() if not f.joiners]
    wakeups = early_wakeups(events, tracker)
    return {
        "memo_hits": len(memo),
        "memo_saved_s": round(sum(j.head_start_s for j in memo), 3),
        "speculative_started": len(tracker.speculative),
        "speculative_joins": len(spec),
        "speculative_saved_s": round(sum(j.head_start_s for j in spec), 3),
        "speculative_unused_s": round(sum(f.seconds(end) for f in unused if f.started_t is not None), 3),
        "early_wakeups": len(wakeups),
        "early_wakeup_saved_s": round(sum(wakeups), 3),
    }


def early_wakeups(events: list[Event], tracker: RunTracker) -> list[float]:
    """Seconds each early ``await_futures`` spared: from the request after it to the end of
    the last future it awaited (what an await to the end would have waited more)."""
    sent = {r.turn: r.sent_t for r in tracker.requests}
    out = []
    for e in events:
        if not isinstance(e, CallClosed) or e.name != AWAIT or e.error is not None:
            continue
        try:
            args = json.loads(e.arguments or "{}")
        except json.JSONDecodeError:
            continue
        if not isinstance(args, dict) or args.get("until") != "first_failure":
            continue
        after = sent.get(e.turn + 1)
        if after is None:
            continue
        ids = args.get("ids") or [f.id for f in tracker.futures.values() if f.created_t <= e.t]
        ends = [tracker.futures[i].ended_t for i in ids if i in tracker.futures]
        if args.get("mode") == "any" or not ends or any(t is None for t in ends):
            continue
        last = max(t for t in ends if t is not None)
        if last > after:
            out.append(last - after)
    return out


def median_figures(records: list[dict[str, Any]]) -> dict[str, float]:
    from .measure import median

    return {k: round(median(r.get(k, 0.0) for r in records), 3) for k in FIGURES}
