"""The driver of a batch on Ray: connect, submit tasks within the concurrency cap, collect
their reports, enforce time limits, cancel on Ctrl-C, and clean up after killed workers.

Each task is a Ray task that declares its CPUs and memory (made to fit ``--workers``:
``reserve``), so Ray never puts more on a node than it holds, and is spread over the nodes (each runs its sandboxes on its own Docker
engine). A worker that dies (its node lost, a crash of the process) is a system failure
that Ray retries once; an exception of the task itself is not retried. Every task runs in
a fresh worker process, so no state of one run (environment, caches, frozen objects)
reaches the next.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import worker
from .outputs import Failure
from .reserve import Node, Resources
from .tasks import Task

#: The resource Ray gives the head node only.
HEAD_RESOURCE = "node:__internal_head__"
#: How long a killed worker may take to be reported dead.
_KILL_WAIT_S = 10.0
INSTALL_HINT = "the batch command needs Ray: pip install 'asyncfc-agent[batch]'"


class BatchError(Exception):
    """The cluster cannot be reached or started."""


class BatchInterrupted(Exception):
    """Ctrl-C: running tasks were cancelled and their records written."""


@dataclass(frozen=True)
class Cluster:
    address: str
    nodes: int
    cpus: float
    local: bool
    #: What each live node offers tasks (CPUs, memory), for fitting their reservations.
    capacity: tuple[Node, ...] = ()

    def describe(self) -> str:
        where = "a local Ray instance" if self.local else f"the Ray cluster at {self.address}"
        return f"{where}: {self.nodes} node{'s' if self.nodes != 1 else ''}, {self.cpus:g} CPUs"


@contextlib.contextmanager
def connect(address: str | None) -> Iterator[Cluster]:
    """Join the cluster at ``address``, or start a local instance for the run and stop it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        ray = _ray()
    except ImportError:
        raise BatchError(INSTALL_HINT) from None
    owned = not ray.is_initialized()
    if owned:
        options: dict[str, Any] = {
            "log_to_driver": False, "logging_level": logging.WARNING, "namespace": "asyncfc-batch",
        }
        if not address:
            # a short path: Ray's socket paths must stay under the kernel's limit
            temp = os.path.join(tempfile.gettempdir(), f"asyncfc-ray-{os.getuid()}")
            # Ray runs its workers at nice 15 by default, below everything else on the
            # machine: a busy machine would starve the batch the user just asked for. Ours
            # run at the driver's own priority (Ray's niceness is added to the raylet's).
            options.update(include_dashboard=False, _temp_dir=temp,
                           _system_config={"worker_niceness": 0})
        try:
            # "local" starts an instance of our own even where a `ray start` cluster runs
            ray.init(address=address or "local", **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise BatchError(f"cannot reach {where}: {str(exc).splitlines()[0]}") from None
    try:
        alive = [n for n in ray.nodes() if n.get("Alive")]
        capacity = tuple(
            Node(cpus=float(n.get("Resources", {}).get("CPU", 0)),
                 memory_bytes=float(n.get("Resources", {}).get("memory", 0)))
            for n in alive
        )
        yield Cluster(
            address=address or "local", nodes=len(alive), local=not address,
            cpus=float(ray.cluster_resources().get("CPU", 0)), capacity=capacity,
        )
    finally:
        if owned:
            ray.shutdown()


class Listener(Protocol):
    """Who is told how the batch goes: the progress view or the line log."""

    def task_started(self, task_id: str, node: dict[str, Any]) -> None: ...
    def task_finished(self, line: dict[str, Any]) -> None: ...
    def interrupted(self) -> None: ...


#: Writes a finished task's folder and summary line; returns the line.
Recorder = Callable[[Task, worker.TaskReport | None, Failure | None, float], dict[str, Any]]


class Tracker:
    """A small actor the workers tell when they start, and where: the driver learns which
    tasks run (not just wait for a node) and where a killed task was."""

    def __init__(self) -> None:
        self._events: list[tuple[str, dict[str, Any], str]] = []

    def started(self, task_id: str, node: dict[str, Any], run_id: str) -> None:
        self._events.append((task_id, node, run_id))

    def since(self, seen: int) -> tuple[int, list[tuple[str, dict[str, Any], str]]]:
        """How many events there are, and those after the first ``seen``: a reply lost on
        the way (a timeout while the cluster deals with a lost node) loses no event, the
        next call repeats it. After a restart of this actor all it has are new."""
        return len(self._events), self._events[seen:] if seen <= len(self._events) else self._events


@dataclass
class Running:
    task: Task
    ref: Any
    submitted: float
    started: float | None = None
    node: dict[str, Any] | None = None
    run_id: str | None = None
    #: Why the driver cancelled it: "timeout" or "interrupted".
    cancelled: str | None = None
    force_at: float | None = None
    forced: bool = False


@dataclass
class Scheduler:
    """Runs tasks on the connected cluster; ``run`` returns when all have ended."""

    tasks: list[Task]
    batch_id: str
    record: Recorder
    listener: Listener
    resources: Resources = field(default_factory=Resources)
    workers: int | None = None
    #: After its own limit, a run gets this long to wrap up before the driver cancels it.
    timeout_grace_s: float = 30.0
    #: After a cancel, a run gets this long to clean up before its worker is killed.
    cancel_grace_s: float = 20.0
    tick_s: float = 0.25
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._queue = deque(self.tasks)
        self._running: dict[Any, Running] = {}
        self._remote: Any = None
        self._tracker: Any = None
        self._seen = 0  # tracker events handled

    def run(self) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray = _ray()

        options: dict[str, Any] = {
            "num_cpus": self.resources.cpus, "max_retries": 1, "retry_exceptions": False,
            "scheduling_strategy": "SPREAD",
        }
        if self.resources.memory_bytes:
            options["memory"] = self.resources.memory_bytes
        self._remote = ray.remote(max_calls=1)(worker.run_task).options(**options)
        # on the head node, which the cluster cannot lose and go on: a tracker on a node that
        # is lost would take the news of every later start with it. Not soft: a busy head
        # would have Ray place it on another node, the one that may be lost.
        heads = [n["NodeID"] for n in ray.nodes() if n.get("Alive") and HEAD_RESOURCE in n.get("Resources", {})]
        there = NodeAffinitySchedulingStrategy(heads[0], soft=False) if heads else "DEFAULT"
        self._tracker = ray.remote(Tracker).options(
            num_cpus=0, scheduling_strategy=there, max_restarts=-1, max_task_retries=-1,
        ).remote()
        try:
            while self._queue or self._running:
                self._submit()
                self._step()
        except KeyboardInterrupt:
            self._interrupt()
            raise BatchInterrupted from None
        finally:
            # on every node, every time: Ray retries a task whose node was lost by
            # itself, and the lost attempt's leftovers are only found by their lease
            reap_nodes(self.batch_id)

    def _submit(self) -> None:
        cap = self.workers or len(self.tasks)
        while self._queue and len(self._running) < cap:
            task = self._queue.popleft()
            ref = self._remote.remote(task, self.batch_id, self._tracker)
            self._running[ref] = Running(task=task, ref=ref, submitted=self.clock())

    def _step(self) -> None:
        ray = _ray()

        refs = list(self._running)
        if refs:
            ray.wait(refs, num_returns=1, timeout=self.tick_s)
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        else:
            ready = []
        self._poll_tracker()
        for ref in ready:
            self._collect(self._running.pop(ref))
        self._watch()

    def _poll_tracker(self) -> None:
        ray = _ray()

        try:
            self._seen, events = ray.get(self._tracker.since.remote(self._seen), timeout=10)
        except ray.exceptions.RayError:
            return  # progress is a nicety: the results still come through the tasks
        by_id = {r.task.id: r for r in self._running.values()}
        for task_id, node, run_id in events:
            running = by_id.get(task_id)
            if running is None:
                continue
            # a retry starts anew, maybe elsewhere
            running.started, running.node, running.run_id = self.clock(), node, run_id
            self.listener.task_started(task_id, node)

    def _collect(self, running: Running) -> None:
        ray = _ray()

        end = self.clock()
        wall = end - (running.started or running.submitted)
        report, failure = None, None
        try:
            report = ray.get(running.ref)
        except ray.exceptions.RayError as exc:
            failure = describe_failure(exc, running)
        if failure is not None and running.started is None and running.cancelled:
            return  # cancelled before it started: no record, a resume runs it
        line = self.record(running.task, report, failure, wall)
        self.listener.task_finished(line)

    def _watch(self) -> None:
        """Cancel runs past their limit; kill those that do not stop when asked."""
        ray = _ray()

        now = self.clock()
        for running in self._running.values():
            limit = running.task.timeout
            started = running.started
            if (running.cancelled is None and limit and started is not None
                    and now > started + limit + self.timeout_grace_s):
                ray.cancel(running.ref, force=False)
                running.cancelled, running.force_at = "timeout", now + self.cancel_grace_s
            if running.force_at is not None and now > running.force_at and not running.forced:
                ray.cancel(running.ref, force=True)
                running.forced = True

    def _interrupt(self) -> None:
        """Cancel everything; give runs the grace to clean up, then kill the rest."""
        ray = _ray()

        self.listener.interrupted()
        self._queue.clear()
        now = self.clock()
        for running in self._running.values():
            ray.cancel(running.ref, force=False)
            running.cancelled = running.cancelled or "interrupted"
            running.force_at = now + self.cancel_grace_s
        deadline = now + self.cancel_grace_s + _KILL_WAIT_S
        try:
            while self._running and self.clock() < deadline:
                self._step()
        except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
            for running in self._running.values():
                if not running.forced:
                    ray.cancel(running.ref, force=True)
                    running.forced = True
            deadline = self.clock() + _KILL_WAIT_S
            while self._running and self.clock() < deadline:
                self._step()
        for running in list(self._running.values()):
            self._running.pop(running.ref)
            if running.started is not None:
                failure = Failure("interrupted", "cancelled by the user", running.node,
                                  running.run_id)
                self.listener.task_finished(self.record(running.task, None, failure, 0.0))


def describe_failure(exc: Exception, running: Running) -> Failure:
    """Why a task ended without a report, from what Ray raised."""
    import ray.exceptions as rx

    node, run_id = running.node, running.run_id
    if isinstance(exc, rx.TaskCancelledError):
        if running.cancelled == "timeout":
            limit = running.task.timeout
            return Failure("timeout", f"the run did not end within its limit of {limit:g} s "
                           "and was cancelled", node, run_id)
        return Failure("interrupted", "cancelled by the user", node, run_id)
    if isinstance(exc, rx.NodeDiedError | rx.LocalRayletDiedError):
        return Failure("node_lost", f"the node was lost (tried twice): {_first_line(exc)}", node, run_id)
    if isinstance(exc, rx.OutOfMemoryError):
        return Failure("out_of_memory", f"killed by Ray's memory monitor: {_first_line(exc)}", node, run_id)
    if isinstance(exc, rx.WorkerCrashedError):
        return Failure("worker_died", "the worker process died (tried twice)", node, run_id)
    if isinstance(exc, rx.RayTaskError):
        cause = exc.cause if isinstance(exc.cause, BaseException) else exc
        return Failure("error", f"{type(cause).__name__}: {_first_line(cause)}", node, run_id)
    return Failure("ray_error", f"{type(exc).__name__}: {_first_line(exc)}", node, run_id)


def _ray() -> Any:
    """Ray, imported when a batch runs (untyped, and slow to import)."""
    import ray

    return ray


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def reap_nodes(batch_id: str) -> list[dict[str, Any]]:
    """Run ``worker.reap`` on every live node: what killed workers left behind goes."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray = _ray()

    reaper = ray.remote(worker.reap)
    refs = [
        reaper.options(
            num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote(batch_id)
        for n in ray.nodes() if n.get("Alive")
    ]
    reaped: list[dict[str, Any]] = []
    with contextlib.suppress(ray.exceptions.RayError):
        for found in ray.get(refs, timeout=60):
            reaped.extend(found)
    return reaped
