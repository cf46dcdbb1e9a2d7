"""Which view watches a run: the live view, the plain line log, or JSON events."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..agent.events import Event
    from ..agent.session import RunOutcome


def json_log(event: Event) -> None:
    print(json.dumps(event.to_dict(), default=str, ensure_ascii=False), flush=True)


def make_view(
    *, plain: bool, json_events: bool
) -> tuple[list[Callable[[Event], None]], contextlib.AbstractContextManager[Any]]:
    """Subscribers for the event bus, and a context that owns the terminal meanwhile."""
    if json_events:
        return [json_log], contextlib.nullcontext()
    from .plain import PlainLog

    return [PlainLog()], contextlib.nullcontext()


def print_summary(outcome: RunOutcome, *, plain: bool) -> None:
    r = outcome.result
    lines = [
        f"status:   {outcome.status} ({outcome.exit_reason})",
        f"branch:   {r.get('branch') or '-'}" + (f" at {r['commit'][:12]}" if r.get("commit") else ""),
        f"patch:    {r.get('patch_file', '-')} ({r.get('patch_bytes', 0)} bytes)",
        f"result:   {outcome.out_dir / 'result.json'}",
        f"time:     {r.get('wall_s', 0):.2f} s wall, {r.get('model_s', 0):.2f} s model, "
        f"{r.get('tool_s', 0):.2f} s tools, {r.get('turns', 0)} turns",
    ]
    if r.get("error"):
        lines.insert(1, f"error:    {r['error']}")
    print("\n".join(lines), file=sys.stdout, flush=True)
