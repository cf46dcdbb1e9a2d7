"""What runs on a node for one task: its repository, its config, the same ``Session`` as
``solve``, and a report that carries the run's files back to the driver.

Nodes need not share a filesystem with the driver, so the run writes into a staging
folder of the node and the files travel back in the report. A lease file names the
process, the run and its staging folder while the task runs: when a worker is killed
(a forced cancel, a lost node, a crash), ``reap`` finds the lease of the dead process and
removes what the run left: processes of the local sandbox, containers, the worktree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .tasks import Task

if TYPE_CHECKING:
    from ..agent.config import RunConfig

#: Set in the environment of a task's process, so the commands of a local sandbox carry
#: it and can be found after their worker is killed.
MARKER = "ASYNCFC_BATCH_RUN"
#: The files of a run, in the order they are written out; result.json last, so a result
#: on disk means the rest is there too.
RUN_FILES = ("trajectory.jsonl", "patch.diff", "result.json")
_TICK_S = 0.2
#: How long a worker waits for the tracker to take the news of its start.
_TELL_S = 30.0


class SetupError(Exception):
    """The task could not start: its repository or its configuration."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class NodeInfo:
    """Where a task ran: the Ray node, its address and host name, and the worker's pid."""

    node_id: str
    ip: str
    hostname: str
    pid: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TaskReport:
    """What a worker sends back: the run's files as it left them, or why none ran."""

    task_id: str
    run_id: str
    node: NodeInfo
    files: dict[str, bytes] = field(default_factory=dict)
    #: (exit reason, message) when no session ran: a bad clone, a bad config.
    failure: tuple[str, str] | None = None
    #: The session raised after writing its record (a crash of the agent).
    crash: str | None = None
    #: Whether the repository was a clone made for the task (its branch is gone with it).
    cloned: bool = False


def node_info() -> NodeInfo:
    node_id, ip = "local", "127.0.0.1"  # outside Ray: a run of this module on its own
    with contextlib.suppress(ImportError):
        import ray

        util: Any = ray.util
        # asking an uninitialised Ray for its context would start an instance
        if ray.is_initialized():
            node_id = ray.get_runtime_context().get_node_id()
            ip = util.get_node_ip_address()
    return NodeInfo(node_id=node_id, ip=ip, hostname=socket.gethostname(), pid=os.getpid())


def batch_dir(batch_id: str) -> Path:
    from ..agent.workarea import data_dir

    return data_dir() / "batch" / batch_id


def new_run_id(task_id: str) -> str:
    from ..agent.session import new_run_id as stamp

    return f"{stamp()}-{task_id}"[:120]


def run_task(task: Task, batch_id: str, tracker: Any = None) -> TaskReport:
    """Run one task to its end on this node; never raises for the task's own failures."""
    run_id = new_run_id(task.id)
    node = node_info()
    reap(batch_id, {task.id})  # a killed earlier attempt of this task, on this node
    if tracker is not None:
        _tell_started(tracker, task.id, node.to_dict(), run_id)
    staging = batch_dir(batch_id) / "runs" / run_id
    report = TaskReport(task_id=task.id, run_id=run_id, node=node, cloned=task.clone)
    lease = _write_lease(batch_id, task, run_id, node, staging)
    try:
        with _marked(run_id):
            repo = prepare_repo(task, staging / "repo")
            cfg = task_config(task, repo, staging / "out")
            report.crash = _run_session(task, repo, cfg, run_id)
        for name in RUN_FILES:
            path = staging / "out" / name
            if path.is_file():
                report.files[name] = path.read_bytes()
    except SetupError as exc:
        report.failure = (exc.reason, str(exc))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        lease.unlink(missing_ok=True)
        _tidy(batch_id)
    return report


def _tell_started(tracker: Any, task_id: str, node: dict[str, Any], run_id: str) -> None:
    """Tell the driver's tracker, and wait until it has it: a call sent and not waited on
    dies with a worker killed just after it (a task that crashes at once), and the driver
    never hears that the retry started. A tracker that cannot be reached costs the news,
    not the task."""
    import ray

    with contextlib.suppress(ray.exceptions.RayError, TimeoutError):
        ray.get(tracker.started.remote(task_id, node, run_id), timeout=_TELL_S)


def _run_session(task: Task, repo: Path, cfg: RunConfig, run_id: str) -> str | None:
    """Run the session; the description of a crash (its record is written by then)."""
    from ..agent.session import Session

    session = Session(task.spec.issue, repo, cfg, run_id=run_id)

    async def main() -> None:
        ticker = asyncio.create_task(_tick())
        try:
            await session.run()
        finally:
            ticker.cancel()

    try:
        # A cancel from Ray raises KeyboardInterrupt in this thread: asyncio.run turns it
        # into a cancellation of the session, whose own clean-up closes the sandbox and
        # removes the worktree.
        asyncio.run(main())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def _tick() -> None:
    """Wake the event loop often: Ray's cancel sets Python's interrupt flag without a real
    signal, so a loop asleep in its selector would only notice when its next timer fires."""
    while True:  # noqa: ASYNC110 - waking up is the point, there is nothing to wait for
        await asyncio.sleep(_TICK_S)


def prepare_repo(task: Task, dest: Path) -> Path:
    """The repository to work on: the local directory itself, or a fresh clone at ``ref``."""
    if not task.clone:
        return Path(task.source)
    from ..agent.hostgit import WorkAreaError, clone

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        git = clone(task.source, dest)
        if task.spec.ref:
            ref = task.spec.ref
            commit = next((out.strip() for name in (ref, f"origin/{ref}")
                           if (out := git.text("rev-parse", "--verify", "--quiet",
                                               f"{name}^{{commit}}", check=False)).strip()), "")
            if not commit:
                raise SetupError("repository_error", f"{task.source} has no ref {ref!r}")
            git.run("checkout", "--quiet", "--detach", commit)
    except WorkAreaError as exc:
        raise SetupError("repository_error", str(exc).splitlines()[-1]) from None
    return dest


def task_config(task: Task, repo: Path, out: Path) -> RunConfig:
    """The task's RunConfig, made exactly as ``solve`` makes one from its options."""
    from ..agent.assemble import assemble
    from ..agent.config import ConfigError

    s = task.settings
    try:
        cfg = assemble(
            repo, config_file=Path(s.config_file) if s.config_file else None,
            model=s.model, api_base=s.api_base, mode=s.mode or None, sandbox=s.sandbox or None,
            out=out, max_turns=s.max_turns, max_cost_usd=s.max_cost, timeout_s=s.timeout,
            verify=s.verify or None,
        )
    except (ConfigError, ValueError) as exc:
        raise SetupError("config_error", str(exc) or "invalid configuration") from None
    from ..agent.workarea import slugify

    # Tasks of one repository run side by side: each needs a branch name of its own.
    cfg.branch_slug = "batch-" + slugify(task.id)
    return cfg


@contextlib.contextmanager
def _marked(run_id: str) -> Iterator[None]:
    previous = os.environ.get(MARKER)
    os.environ[MARKER] = run_id
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MARKER, None)
        else:
            os.environ[MARKER] = previous


def _write_lease(batch_id: str, task: Task, run_id: str, node: NodeInfo, staging: Path) -> Path:
    """The run's lease, and its staging folder made: under the node's lock, since another
    task of the node may be tidying the folders they share away."""
    from ..sandboxes.containers import process_start

    leases = batch_dir(batch_id) / "leases"
    lease = leases / f"{run_id}.json"
    text = json.dumps({
        "task": task.id, "run_id": run_id, "node": node.to_dict(), "pid": node.pid,
        "pid_start": process_start(node.pid), "staging": str(staging),
        "sandbox": task.settings.sandbox or "auto", "started": time.time(),
    })
    with _folders_locked():
        leases.mkdir(parents=True, exist_ok=True)
        lease.write_text(text)
        staging.mkdir(parents=True, exist_ok=True)
    return lease


def _tidy(batch_id: str) -> None:
    """Remove the batch's folders on this node once nothing is left in them."""
    root = batch_dir(batch_id)
    with _folders_locked():
        for folder in (root / "leases", root / "runs", root):
            with contextlib.suppress(OSError):
                folder.rmdir()


@contextlib.contextmanager
def _folders_locked() -> Iterator[None]:
    """The tasks of a node share its batch folders: one that ends removes those it leaves
    empty, and without this lock it could remove one another task, starting, has just
    made and not yet written into."""
    from ..agent.workarea import data_dir
    from ..safefs.lock import held_lock

    lock = data_dir() / "batch.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with held_lock(lock):
        yield


def reap(batch_id: str, task_ids: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Clean up after tasks of this node whose worker died; the leases of those reaped."""
    from ..sandboxes.containers import process_alive

    leases = batch_dir(batch_id) / "leases"
    reaped = []
    for path in sorted(leases.glob("*.json")) if leases.is_dir() else []:
        try:
            lease = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if task_ids is not None and lease.get("task") not in task_ids:
            continue
        if process_alive(int(lease["pid"]), str(lease.get("pid_start", ""))):
            continue
        run_id = str(lease["run_id"])
        kill_marked(run_id)
        if lease.get("sandbox") != "local":
            _remove_containers(run_id)
        _remove_worktree(run_id)
        shutil.rmtree(lease["staging"], ignore_errors=True)
        path.unlink(missing_ok=True)
        reaped.append(lease)
    _tidy(batch_id)
    return reaped


def kill_marked(run_id: str) -> list[int]:
    """Kill the process groups of processes that carry the run's marker; their pids."""
    needle = f"{MARKER}={run_id}".encode() + b"\0"
    killed = []
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid == os.getpid():
            continue
        try:
            if needle not in (proc / "environ").read_bytes() + b"\0":
                continue
            os.killpg(os.getpgid(pid), signal.SIGKILL)
            killed.append(pid)
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours
    return killed


def _remove_containers(run_id: str) -> None:
    from ..sandboxes.base import SandboxError
    from ..sandboxes.containers import list_containers, remove_container
    from ..sandboxes.engine import connect

    try:
        client = connect()
        for container in list_containers(client, session_id=run_id):
            remove_container(client, container.id)
    except SandboxError:
        pass  # no engine here: no containers either


def _remove_worktree(run_id: str) -> None:
    from ..agent.owners import reap_run

    reap_run(run_id)
