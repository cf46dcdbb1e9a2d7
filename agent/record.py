"""What a run leaves behind: the records of its futures, its test verdict, ``result.json``."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from ..tools.workspace import Workspace
from .executor import Executor
from .futures import Future, FutureState


def test_verdict(executor: Executor) -> dict[str, Any]:
    """The latest test run, and whether it passed on the final workspace revision."""
    runs = [f for f in executor.futures.values() if f.tool == "run_tests"]
    if not runs:
        return {"future": None, "passed": False, "on_final_revision": False}
    last = max(runs, key=lambda f: f.seq)
    passed = last.state is FutureState.RESOLVED and last.result is not None and last.result.exit_code == 0
    return {
        "future": last.id,
        "passed": passed,
        "on_final_revision": last.workspace_rev == executor.workspace.revision,
    }


def future_record(f: Future, final_rev: int, workspace: Workspace) -> dict[str, Any]:
    from .protocol import stale_paths

    record: dict[str, Any] = {
        "id": f.id,
        "tool": f.tool,
        "args": f.args,
        "deps": f.deps,
        "status": f.state.value,
        "exit_code": f.result.exit_code if f.result is not None else None,
        "started_s": None if f.started_s is None else round(f.started_s, 4),
        "ended_s": None if f.ended_s is None else round(f.ended_s, 4),
        "duration_s": round((f.ended_s or 0) - (f.started_s or 0), 4) if f.ended_s else None,
        "workspace_rev": f.workspace_rev,
        "stale": bool(stale_paths(f, workspace)),
        "delivered": f.delivered,
        "delivered_via": f.delivered_via,
        "error": f.error,
    }
    if f.partial is not None:  # a test run: its outcomes (counts, first failures)
        record["tests"] = f.partial.to_dict()
    return record


def write_result(path: Path, result: dict[str, Any]) -> str | None:
    """Write ``result.json``; the reason it could not be written, or None."""
    try:
        path.write_text(json.dumps(result, indent=2) + "\n")
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()  # a torn file reads as a record; no file says there is none
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


def summary(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "exit_reason", "branch", "commit", "patch_file", "patch_bytes", "turns",
            "model_s", "tool_s", "cost_usd", "error")
    return {k: result.get(k) for k in keys}
