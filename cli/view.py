"""Which view watches a run: the live view, the plain line log, or JSON events.

The live view needs a terminal: with ``--plain``, ``--json``, a pipe or ``TERM=dumb`` the
line log (or the JSON stream) is used instead. With ``--json``, stdout carries events
only; the closing summary goes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..agent.events import Event
    from ..agent.session import RunOutcome


def json_log(event: Event) -> None:
    from .sanitize import json_safe

    print(json_safe(json.dumps(event.to_dict(), default=str, ensure_ascii=False)), flush=True)


def live_capable(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (stdout) is a terminal the live view can draw on."""
    stream = stream or sys.stdout
    return stream.isatty() and os.environ.get("TERM", "") != "dumb"


def make_view(
    *, plain: bool, json_events: bool
) -> tuple[list[Callable[[Event], None]], contextlib.AbstractContextManager[Any]]:
    """Subscribers for the event bus, and a context that owns the terminal meanwhile."""
    if json_events:
        return [json_log], contextlib.nullcontext()
    if not plain and live_capable():
        from .tui import LiveView

        live = LiveView()
        return [live], live
    from .plain import PlainLog

    return [PlainLog()], contextlib.nullcontext()


def print_summary(outcome: RunOutcome, *, plain: bool, json_events: bool = False) -> None:
    """The closing summary: lines in plain mode (stderr with ``--json``), else a table."""
    if json_events:
        print_plain_summary(outcome, sys.stderr)
    elif plain or not live_capable():
        print_plain_summary(outcome, sys.stdout)
    else:
        from .run_summary import print_final_summary

        print_final_summary(outcome.result, outcome.out_dir / "trajectory.jsonl")


def print_plain_summary(outcome: RunOutcome, out: TextIO) -> None:
    r = outcome.result
    lines = [
        f"status:   {outcome.status} ({outcome.exit_reason})",
        f"branch:   {r.get('branch') or '-'}" + (f" at {r['commit'][:12]}" if r.get("commit") else ""),
        f"patch:    not written ({r['patch_error']})" if r.get("patch_error")
        else f"patch:    {r.get('patch_file', '-')} ({r.get('patch_bytes', 0)} bytes)",
        f"result:   {outcome.out_dir / 'result.json'}",
        f"time:     {r.get('wall_s', 0):.2f} s wall, {r.get('model_s', 0):.2f} s model, "
        f"{r.get('tool_s', 0):.2f} s tools, {r.get('turns', 0)} turns",
    ]
    if r.get("error"):
        lines.insert(1, f"error:    {r['error']}")
    from .sanitize import sanitize

    print(sanitize("\n".join(lines)), file=out, flush=True)
