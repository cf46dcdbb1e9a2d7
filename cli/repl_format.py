"""What the REPL prints: styles, turn lines, the futures table, the recap of a resumed
session. Plain functions of data, tested without a terminal."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..agent.futures import Future
    from ..agent.interactive import Interruption, TurnReport
    from ..agent.wake import Waker

STYLES = {
    "dim": "#888888",
    "future": "ansicyan",
    "ok": "ansigreen",
    "bad": "ansired",
    "note": "ansiyellow",
    "added": "ansigreen",
    "removed": "ansired",
    "hunk": "ansicyan",
}


@functools.cache
def styles() -> Any:
    from prompt_toolkit.styles import Style

    return Style.from_dict(STYLES)


def describe_interruption(stop: Interruption) -> str:
    parts = ["stopped the turn"] if stop.turn else []
    if stop.futures:
        parts.append(f"cancelled {', '.join(stop.futures)}")
    if stop.dropped:
        parts.append(f"dropped {stop.dropped} queued message(s)")
    return "; ".join(parts) or "nothing to stop"


def describe_turn(report: TurnReport) -> str:
    """The line that closes a turn (an empty answer would otherwise leave no trace)."""
    name = f"wake-up after turn {report.number}" if report.woke else f"turn {report.number}"
    if report.reason == "cancelled":
        return f"-- {name} cancelled"
    if report.reason in ("error", "model_error"):
        return f"-- {name} failed: {report.detail}"
    if report.reason != "submitted":
        return f"-- {name} stopped: {report.detail}"
    parts = [f"-- {name} done"]
    if report.checkpoint:
        parts.append(f"checkpoint {report.checkpoint[:7]}")
    if report.running:
        parts.append(f"{', '.join(report.running)} still running")
    return " · ".join(parts)


def idle_outcome(waker: Waker, future: Future) -> str:
    """What happens to a result that arrives while the session is idle."""
    from ..agent.wake import WakePolicy, failed

    if waker.would_wake([future]):
        if waker.user_busy():
            return "the model gets it when you send or clear your line"
        return "the model wakes to it"
    if waker.paused:
        return "wake-ups paused: the model gets it with your next message"
    if waker.policy is WakePolicy.FAILURES and not failed(future):
        return "passed: the model gets it with your next message"
    return "the model gets it with your next message"


def tests_note(future: Future) -> str:
    """`` (12 passed, 1 failed, running)`` for a test run that reports its outcomes."""
    if future.partial is None:
        return ""
    state = "" if future.done.is_set() else ", running"
    return f" ({future.partial.describe(failures_first=future.done.is_set())}{state})"


def waiting_line(waker: Waker, now: float) -> str:
    """The toolbar's part on what the model waits for while the session is idle."""
    from ..agent.wake import WakePolicy

    waiting = waker.waiting()
    if waker.held:
        return "results in: the model wakes when you send or clear your line"
    if not waiting:
        return ""
    running = ", ".join(f"{f.id} {f.tool} {f.duration_s(now):.0f}s{tests_note(f)}" for f in waiting)
    if waker.paused:
        return f"the model waits for {running} · wake-ups paused until you write"
    how = {WakePolicy.AUTO: "wakes on its result", WakePolicy.FAILURES: "wakes if it fails",
           WakePolicy.OFF: "result with your next message"}[waker.policy]
    return f"the model waits for {running} · {how}"


def event_style(data: dict[str, Any]) -> str:
    kind = data["kind"]
    if kind == "future_progress":
        return "class:bad"  # it is shown when a test fails
    if kind == "future_resolved":
        ok = data["status"] == "resolved" and data["exit_code"] in (0, None)
        return "class:ok" if ok else "class:bad"
    if kind == "notice":
        return "class:bad" if data["level"] == "error" else "class:note"
    if kind == "call_closed":
        return "class:bad"
    return "class:future"


def futures_table(futures: list[Future], now: float,
                  lost: list[dict[str, Any]] | None = None) -> list[str]:
    """The futures of the session; ``lost``: those of an earlier process the model never
    saw the end of (as its record has them: id, tool, state)."""
    from .plain import short_args

    rows = [("id", "tool", "state", "time", "model", "call")]
    for old in lost or []:
        rows.append((str(old["id"]), str(old["tool"]), "lost", "-", "-",
                     f"(earlier process; was {old['state']})"))
    for f in futures:
        rows.append((f.id, f.tool, f.state.value + tests_note(f), f"{f.duration_s(now):.1f} s",
                     "seen" if f.delivered else "-", short_args(f.args, 50)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
            for r in rows]


def diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("+"):
        return "class:added"
    if line.startswith("-"):
        return "class:removed"
    return "class:hunk" if line.startswith("@@") else ""


def tail(text: str, lines: int) -> str:
    parts = text.rstrip("\n").split("\n")
    if len(parts) <= lines:
        return "\n".join(parts)
    return f"({len(parts) - lines} earlier lines not shown)\n" + "\n".join(parts[-lines:])


def recap(messages: list[dict[str, Any]], exchanges: int = 3) -> list[tuple[str, str]]:
    """The last user messages and answers of a conversation, one short line each."""
    lines: list[tuple[str, str]] = []
    for m in messages:
        text = m.get("content")
        if m.get("role") not in ("user", "assistant") or not isinstance(text, str) or not text.strip():
            continue
        short = " ".join(text.split())
        lines.append(("you" if m["role"] == "user" else "agent",
                      short if len(short) <= 100 else short[:97] + "..."))
    # the last ``exchanges`` messages of the user, and what followed each
    starts = [i for i, (role, _t) in enumerate(lines) if role == "you"]
    return lines[starts[-exchanges]:] if len(starts) >= exchanges else lines
