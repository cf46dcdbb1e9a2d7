"""One ``batch`` invocation: which tasks run (``--resume`` skips finished ones), on which
cluster, watched by which view, and what the batch amounts to at the end."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .engine import Listener, Scheduler, connect
from .outputs import OutDir, summary_line
from .reserve import Resources
from .reserve import plan as plan_reservation
from .tasks import Task

#: Exit codes of ``batch``.
EXIT_ALL_SOLVED, EXIT_SOME_UNSOLVED, EXIT_USAGE, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class View(Listener, Protocol):
    """A listener that owns the terminal while the batch runs."""

    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: object) -> None: ...


@dataclass
class BatchPlan:
    tasks: list[Task]
    out: Path
    ray_address: str | None = None
    workers: int | None = None
    resources: Resources = field(default_factory=Resources)
    resume: bool = False
    timeout_grace_s: float = 30.0
    cancel_grace_s: float = 20.0


@dataclass
class BatchResult:
    batch_id: str
    cluster: str
    lines: list[dict[str, Any]]
    skipped: list[str]
    wall_s: float
    interrupted: bool = False
    reservation: Resources | None = None  # what each task reserved on its node

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line["status"] == outcome)

    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.count("failed") or self.count("cancelled"):
            return EXIT_SOME_FAILED
        return EXIT_SOME_UNSOLVED if self.count("unsolved") else EXIT_ALL_SOLVED


def new_batch_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def split_resumed(plan: BatchPlan, out: OutDir) -> tuple[list[Task], list[dict[str, Any]]]:
    """The tasks to run, and the previous results of those ``--resume`` skips."""
    if not plan.resume:
        return plan.tasks, []
    todo, kept = [], []
    for task in plan.tasks:
        result = out.done(task.id)
        if result is None:
            todo.append(task)
        else:
            kept.append(result)
    return todo, kept


def run_batch(
    plan: BatchPlan, make_view: Callable[[int, int], View], *,
    on_cluster: Callable[[str, int, int], None] = lambda where, to_run, skipped: None,
) -> BatchResult:
    """Run the plan; ``make_view(to_run, skipped)`` gives the listener (a context manager)."""
    from .engine import BatchInterrupted

    batch_id = new_batch_id()
    out = OutDir(plan.out)
    todo, kept = split_resumed(plan, out)
    out.start_summary(kept)
    lines = [summary_line(r) for r in kept]
    result = BatchResult(batch_id, "-", [], [str(r.get("batch", {}).get("task")) for r in kept], 0.0)
    started = time.monotonic()
    if not todo:
        result.lines = lines
        return result

    def record(task: Task, report: Any, failure: Any, wall_s: float) -> dict[str, Any]:
        line = out.record(task, batch_id, report, failure, wall_s)
        lines.append(line)
        return line

    with connect(plan.ray_address) as cluster:
        result.cluster = cluster.describe()
        resources, note = plan_reservation(plan.resources, plan.workers, list(cluster.capacity))
        result.reservation = resources
        where = result.cluster + f"; each task reserves {_describe(resources)}"
        on_cluster(where + (f" ({note})" if note else ""), len(todo), len(kept))
        view = make_view(len(todo), len(kept))
        scheduler = Scheduler(
            todo, batch_id, record, view, resources=resources, workers=plan.workers,
            timeout_grace_s=plan.timeout_grace_s, cancel_grace_s=plan.cancel_grace_s,
        )
        try:
            with view:
                scheduler.run()
        except BatchInterrupted:
            result.interrupted = True
    result.lines = lines
    result.wall_s = time.monotonic() - started
    return result


def _describe(resources: Resources) -> str:
    memory = resources.memory_bytes or 0
    size = f"{memory / 1024**3:.3g} GiB" if memory >= 1024**3 else f"{memory / 1024**2:.0f} MiB"
    return f"{resources.cpus:g} CPU" + (f" and {size}" if memory else "")
