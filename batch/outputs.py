"""The batch's output folder: ``DIR/<id>/`` per task, and ``DIR/summary.jsonl``.

A task's folder holds what ``solve --out`` holds (``result.json``, ``trajectory.jsonl``,
``patch.diff``). When no run could leave a record (a worker killed, a node lost, a clone
that failed), the driver writes ``result.json`` itself with the reason. ``result.json``
is written last and atomically, so its presence means the folder is complete: that is
what ``--resume`` looks at.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .tasks import Task
from .worker import RUN_FILES, TaskReport

#: Session reasons that count as the task failing rather than the agent not solving it.
FAILURE_REASONS = frozenset({"timeout", "interrupted"})
OUTCOMES = ("solved", "unsolved", "failed", "cancelled")


def outcome_of(result: dict[str, Any]) -> str:
    """solved, unsolved (the agent ran and ended without a fix), failed, or cancelled."""
    status, reason = result.get("status"), result.get("exit_reason")
    if reason == "interrupted":
        return "cancelled"
    if status == "error" or reason in FAILURE_REASONS:
        return "failed"
    return "solved" if status == "solved" else "unsolved"


@dataclass
class Failure:
    """A task that ended without a report from its worker."""

    reason: str
    error: str
    node: dict[str, Any] | None = None
    run_id: str | None = None


class OutDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.summary = root / "summary.jsonl"

    def task_dir(self, task_id: str) -> Path:
        return self.root / task_id

    def previous(self, task_id: str) -> dict[str, Any] | None:
        """The task's result.json, when one is there and readable."""
        try:
            data = json.loads((self.task_dir(task_id) / "result.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def done(self, task_id: str) -> dict[str, Any] | None:
        """The previous result when it needs no rerun (solved or unsolved), for ``--resume``."""
        result = self.previous(task_id)
        if result is None or outcome_of(result) not in ("solved", "unsolved"):
            return None
        return result

    def start_summary(self, carried: list[dict[str, Any]]) -> None:
        """A new summary: the lines of tasks not run again first, then lines as tasks end."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.summary.open("w") as f:
            for result in carried:
                f.write(json.dumps(summary_line(result)) + "\n")

    def record(
        self, task: Task, batch_id: str, report: TaskReport | None, failure: Failure | None,
        wall_s: float,
    ) -> dict[str, Any]:
        """Write the task's folder and its summary line; the line."""
        folder = self.task_dir(task.id)
        folder.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:  # a rerun's files never mix with an earlier run's
            (folder / name).unlink(missing_ok=True)
        result = None
        if report is not None and failure is None:
            for name in RUN_FILES[:-1]:
                if name in report.files:
                    (folder / name).write_bytes(report.files[name])
            if "result.json" in report.files:
                result = json.loads(report.files["result.json"])
        if result is None:
            result = _stand_in(task, report, failure)
        _relocate(result, folder, cloned=report.cloned if report else task.clone)
        if report is not None and report.crash and not result.get("error"):
            result["error"] = report.crash
        node = report.node.to_dict() if report is not None else (failure.node if failure else None)
        result["batch"] = {
            "batch_id": batch_id, "task": task.id, "line": task.line, "node": node,
            "outcome": outcome_of(result), "wall_s": round(wall_s, 3),
        }
        _write_atomic(folder / "result.json", json.dumps(result, indent=2) + "\n")
        line = summary_line(result)
        with self.summary.open("a") as f:
            f.write(json.dumps(line) + "\n")
        return line


def summary_line(result: dict[str, Any]) -> dict[str, Any]:
    batch = result.get("batch") or {}
    patch = result.get("patch_file") if result.get("patch_bytes") else None
    return {
        "id": batch.get("task"),
        "status": batch.get("outcome") or outcome_of(result),
        "exit_reason": result.get("exit_reason"),
        "node": batch.get("node"),
        "wall_s": batch.get("wall_s"),
        "branch": result.get("branch"),
        "patch": patch,
        "patch_bytes": result.get("patch_bytes", 0),
        "error": result.get("error"),
        "run_id": result.get("run_id"),
    }


def _stand_in(task: Task, report: TaskReport | None, failure: Failure | None) -> dict[str, Any]:
    """The record of a task that left none of its own."""
    reason, error = ("error", "the task ended without a record")
    run_id = report.run_id if report is not None else None
    if failure is not None:
        reason, error, run_id = failure.reason, failure.error, failure.run_id
    elif report is not None and report.failure is not None:
        reason, error = report.failure
    return {
        "run_id": run_id,
        "status": "error",
        "exit_reason": reason,
        "error": error,
        "task": task.spec.issue,
        "model": task.settings.model,
        "mode": task.settings.mode,
        "repo": task.source,
        "branch": None,
        "patch_bytes": 0,
    }


def _relocate(result: dict[str, Any], folder: Path, *, cloned: bool) -> None:
    """Paths in the record point where the files are now, not to the node's staging."""
    result["out_dir"] = str(folder)
    if (folder / "patch.diff").is_file():
        result["patch_file"] = str(folder / "patch.diff")
    else:
        result.pop("patch_file", None)
    if cloned:
        # the branch lived in a clone made for the task, removed with it: the patch is
        # what remains of the work
        result["branch"] = None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
