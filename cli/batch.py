"""``batch``: many tasks at once, each a full ``solve`` run, as Ray tasks on a local
instance or a cluster. Ray is an optional extra; without it the command says how to get it."""

from __future__ import annotations

import importlib.util
import re
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .solve import EXIT_USAGE, ModeArg, ModelArg, SandboxArg, fail

if TYPE_CHECKING:
    from ..batch.run import BatchResult, View
    from ..batch.tasks import Defaults, Task

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from ``2g``, ``512MiB``, ``1.5GB`` or a plain number (binary units)."""
    match = _SIZE.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a size such as 512m or 2g", param_hint="--task-memory")
    number, unit = match.groups()
    return int(float(number) * 1024 ** "_kmgt".index(unit.lower() or "_"))


def batch(
    tasks_file: Annotated[Path, typer.Argument(metavar="TASKS", help="A JSONL file: one task per line (id, repo, issue; optional ref, model, mode, sandbox, limits).")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for DIR/<id>/ results and DIR/summary.jsonl (default: the data directory's batches/<TASKS name>).")] = None,  # noqa: UP045
    model: ModelArg = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,  # noqa: UP045
    mode: ModeArg = None,
    sandbox: SandboxArg = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="A TOML config file.")] = None,  # noqa: UP045
    max_turns: Annotated[Optional[int], typer.Option("--max-turns", min=1, help="Per task.")] = None,  # noqa: UP045
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="Dollars, per task.")] = None,  # noqa: UP045
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds each task may take.")] = None,  # noqa: UP045
    verify: Annotated[bool, typer.Option("--verify", help="Run the tests on the final revision if the agent did not.")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="At most this many tasks at once (default: as many as the cluster's resources allow).")] = None,  # noqa: UP045
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", envvar="RAY_ADDRESS", help="Join this Ray cluster (default: a local instance started for the run).")] = None,  # noqa: UP045
    task_cpus: Annotated[Optional[float], typer.Option("--task-cpus", min=0.01, help="CPUs each task reserves on its node (default: up to 1, less so that --workers tasks fit).")] = None,  # noqa: UP045
    task_memory: Annotated[Optional[str], typer.Option("--task-memory", help="Memory each task reserves on its node (0: none; default: up to 2g, less so that --workers tasks fit).")] = None,  # noqa: UP045
    plain: Annotated[bool, typer.Option("--plain", help="Log lines instead of the progress view.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Skip tasks whose result in --out is solved or unsolved; run the rest.")] = False,
) -> None:
    """Run many tasks (a JSONL file) on Ray, each in its own sandbox and worktree."""
    if importlib.util.find_spec("ray") is None:
        from ..batch.engine import INSTALL_HINT

        fail(INSTALL_HINT, EXIT_USAGE)
    from ..batch.reserve import Resources
    from ..batch.run import BatchPlan, run_batch
    from ..batch.tasks import Defaults

    memory = parse_size(task_memory) if task_memory is not None else None
    defaults = Defaults(
        model=_absolute_script(model), api_base=api_base,
        mode=mode.value if mode else None, sandbox=sandbox.value if sandbox else None,
        config_file=str(config.resolve()) if config else None,
        max_turns=max_turns, max_cost=max_cost, timeout=timeout, verify=verify,
    )
    tasks = load_checked(tasks_file, defaults)
    out_dir = (out or _default_out(tasks_file)).resolve()
    plan = BatchPlan(tasks=tasks, out=out_dir, ray_address=ray_address, workers=workers,
                     resources=Resources(cpus=task_cpus, memory_bytes=memory), resume=resume)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a stop from outside is a Ctrl-C
    try:
        result = run_batch(plan, lambda n, skipped: _view(n, skipped, plain), on_cluster=_announce)
    except KeyboardInterrupt:
        result = None  # while Ray started or stopped: the scheduler's own handling was not on
    except Exception as exc:
        from ..batch.engine import BatchError

        if isinstance(exc, BatchError):
            fail(str(exc), 3)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if result is None:
        typer.echo(f"\ninterrupted; the records of the tasks that ended are in {out_dir}", err=True)
        raise typer.Exit(130)
    report(result, out_dir)
    raise typer.Exit(result.exit_code())


def load_checked(path: Path, defaults: Defaults) -> list[Task]:
    """The tasks of the file; any bad line ends the command (exit 2), all of them listed."""
    from ..batch.tasks import TaskFileError, load_tasks
    from ..batch.worker import SetupError, task_config

    if not path.is_file():
        fail(f"{path} is not a file", EXIT_USAGE)
    try:
        tasks = load_tasks(path, defaults)
    except TaskFileError as exc:
        _bad_lines(exc.errors, path)
    errors = []
    with tempfile.TemporaryDirectory() as scratch:
        for task in tasks:
            if task.clone:
                continue  # its configuration is only known once the clone exists, on a node
            try:
                task_config(task, Path(task.source), Path(scratch))
            except SetupError as exc:
                errors.append((task.line, str(exc)))
    if errors:
        _bad_lines(errors, path)
    return tasks


def _bad_lines(errors: list[tuple[int, str]], path: Path) -> Any:
    for line, message in errors:
        typer.echo(f"error: {path}:{line}: {message}" if line else f"error: {path}: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _absolute_script(model: str | None) -> str | None:
    """A scripted model's path made absolute here: workers run elsewhere."""
    if model and model.startswith("scripted/"):
        return "scripted/" + str(Path(model.removeprefix("scripted/")).expanduser().resolve())
    return model


def _default_out(tasks_file: Path) -> Path:
    from ..agent.workarea import data_dir

    return data_dir() / "batches" / tasks_file.stem


def _announce(where: str, to_run: int, skipped: int) -> None:
    kept = f" ({skipped} skipped: their results are kept)" if skipped else ""
    typer.echo(f"batch: {to_run} task{'s' if to_run != 1 else ''} on {where}{kept}", err=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _view(total: int, skipped: int, plain: bool) -> View:
    from .batch_progress import BatchState, LiveProgress, PlainProgress
    from .view import live_capable

    state = BatchState(total=total, skipped=skipped)
    if plain or not live_capable():
        return PlainProgress(state)
    return LiveProgress(state)


def report(result: BatchResult, out_dir: Path) -> None:
    counts = ", ".join(f"{result.count(o)} {o}" for o in ("solved", "unsolved", "failed", "cancelled"))
    skipped = f" ({len(result.skipped)} skipped: results kept)" if result.skipped else ""
    head = "interrupted" if result.interrupted else "done"
    typer.echo(f"batch {head} in {result.wall_s:.1f} s: {counts}{skipped}", err=True)
    typer.echo(f"results in {out_dir}, summary {out_dir / 'summary.jsonl'}", err=True)
