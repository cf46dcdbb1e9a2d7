"""The plain line log of a run: one line per event worth a line, for logs and pipes."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from ..agent.events import Event
from .sanitize import sanitize


def short_args(args: dict[str, Any], limit: int = 60) -> str:
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def progress_line(e: dict[str, Any]) -> str:
    """A test run's new failures while it runs, with its counts so far."""
    from ..tools.outcomes import Outcomes

    counts = Outcomes(e["format"], e["passed"], e["failed"], e["errors"], e["skipped"], e["total"])
    failures = []
    for f in e["failures"]:
        message = f["message"].splitlines()[0] if f["message"] else ""
        where = f" ({f['location']})" if f["location"] else ""
        failures.append(f"{'ERROR' if f['kind'] == 'error' else 'FAILED'} {f['test']}{where}"
                        + (f": {message[:120]}" if message else ""))
    return (f"{e['future']} tests: {counts.describe(failures_first=True)}, running · "
            + "; ".join(failures))


class PlainLog:
    """Writes a line for each event of note; model text is written when a response ends."""

    def __init__(self, out: TextIO | None = None, *, show_output: bool = False) -> None:
        self.out = out or sys.stdout
        self.show_output = show_output

    def __call__(self, event: Event) -> None:
        line = self.format(event.to_dict())
        if line is not None:
            # output, errors, arguments and the model's text are untrusted
            print(f"{event.t:7.2f}  {sanitize(line)}", file=self.out, flush=True)

    def format(self, e: dict[str, Any]) -> str | None:
        kind = e["kind"]
        if kind == "run_started":
            return (f"run {e['run_id']}: mode {e['mode']}, model {e['model']}, "
                    f"sandbox {e['sandbox']}, branch {e['branch'] or '-'}")
        if kind == "response_done":
            text = " ".join(e["text"].split())
            calls = f" ({e['calls']} call{'s' if e['calls'] != 1 else ''})" if e["calls"] else ""
            return f"[turn {e['turn']}] {text or '(no text)'}{calls}"
        if kind == "call_closed" and e["error"]:
            return f"call {e['name']} rejected: {e['error']}"
        if kind == "future_created":
            ahead = " (speculative: started ahead of the model after an edit)" if e.get("speculative") else ""
            return f"{e['future']} {e['tool']}({short_args(e['args'])}){ahead}"
        if kind == "future_resolved":
            exit_code = f" exit {e['exit_code']}" if e["exit_code"] is not None else ""
            head = f"{e['future']} {e['status']}{exit_code} in {e['duration_s']:.2f} s (rev {e['workspace_rev']})"
            if e["status"] != "resolved":
                head += ": " + e["result"].split("\n", 1)[-1].splitlines()[0][:100]
            return head
        if kind == "future_progress" and e["failures"] and not e["final"]:
            return progress_line(e)
        if kind == "future_output" and self.show_output:
            return f"{e['future']} | {e['text'].rstrip()[-200:]}"
        if kind == "handle_returned":
            return f"{e['future']} still running: handle returned, the model goes on"
        if kind == "workspace_edited":
            paths = ", ".join(p or "and more" for p in e["paths"])  # "": the whole workspace
            return f"rev {e['revision']}: {paths} edited by {e['future']}"
        if kind == "model_retry":
            return f"model error, retry {e['attempt']} in {e['delay_s']} s: {e['error']}"
        if kind == "context_compacted":
            hard = " (the provider refused it)" if e["hard"] else ""
            return (f"context compacted{hard}: {e['tokens_before']:,} -> {e['tokens_after']:,} "
                    f"tokens of {e['budget']:,} ({e['shortened']} results shortened, "
                    f"{e['summarised']} messages summarised)")
        if kind == "notice":
            return f"{e['level']}: {e['message']}"
        if kind == "run_finished":
            return f"finished: {e['status']} ({e['exit_reason']}) in {e['wall_s']:.2f} s"
        return None
