"""Running the benchmark: every workload in every mode, interleaved, on one sandbox kind.

Each run is a whole ``solve`` session on a fresh git copy of the workload's repository,
with the workload's script replayed by the scripted model under one latency profile.
The modes take turns (the order rotates with each repeat), so that a slow spell of the
machine does not land on one mode only. A warm-up run comes first: the first session of
a process pays for importing litellm and for the first container start.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..agent.events import Event
from .bounds import MODES, Mode, Plan, loop_mode, plan_from_script
from .catalog import Workload, fresh_repo
from .measure import RunRecord, analyse, record_run
from .profiles import LatencyProfile

Progress = Callable[[str], None]

WARM_UP_SCRIPT = """\
turns:
  - tool_calls:
      - name: read_file
        args: {path: BENCH_SCALE}
  - text: warmed up
"""


@dataclass
class Settings:
    workloads: list[Workload]
    profile: LatencyProfile | None  # None: each script's own profile
    repeat: int
    sandbox: str  # "local" or "docker" (resolved before the runs)
    out_dir: Path
    #: The workloads' scale (None: 1, or each workload's quick scale with ``quick``).
    scale: float | None = None
    quick: bool = False
    #: Keep the fresh repositories after their runs.
    keep: bool = False
    #: Seconds one run may take at most.
    timeout_s: float = 1200.0
    #: The async loop's grace window (None: the default of AgentConfig).
    grace_s: float | None = None
    modes: tuple[Mode, ...] = MODES
    sandbox_options: dict[str, Any] = field(default_factory=dict)

    def scale_of(self, workload: Workload) -> float:
        if self.scale is not None:
            return self.scale
        return workload.quick_scale if self.quick else 1.0


def mode_order(repeat: int, modes: tuple[Mode, ...] = MODES) -> list[Mode]:
    """The modes of one repeat: the order rotates, so each mode runs first as often."""
    k = repeat % len(modes)
    return list(modes[k:] + modes[:k])


def grace_of(settings: Settings) -> float:
    from ..agent.loop import AgentConfig

    return settings.grace_s if settings.grace_s is not None else AgentConfig().grace_s


async def run_one(
    workload: Workload,
    mode: Mode,
    repeat: int,
    settings: Settings,
    *,
    script: Path | None = None,
    profile: LatencyProfile | None = None,
    label: str | None = None,
    run_dir: Path | None = None,
) -> RunRecord:
    """One session of ``workload`` in ``mode`` on a fresh copy of its repository; its
    record goes to ``run_dir`` (default: the workload's folder of the benchmark)."""
    from ..agent.config import RunConfig, SandboxSettings, apply_file
    from ..agent.loop import Mode as LoopMode
    from ..agent.model import ModelConfig
    from ..agent.session import Session

    name = label or f"{repeat + 1}-{mode}"
    run_dir = run_dir or settings.out_dir / workload.name / name
    repo_dir = settings.out_dir / "repos" / f"{workload.name}-{name}"
    await asyncio.to_thread(shutil.rmtree, repo_dir, True)
    t = time.monotonic()
    repo = await asyncio.to_thread(fresh_repo, workload, repo_dir, settings.scale_of(workload))
    repo_s = time.monotonic() - t
    cfg = RunConfig()
    if (repo / "asyncfc.toml").is_file():
        apply_file(cfg, repo / "asyncfc.toml")
    chosen = profile if profile is not None else settings.profile
    extra: dict[str, Any] = {}
    if chosen is not None:
        extra["metadata"] = {
            "scripted_profile": {"ttft_s": chosen.ttft_s, "tokens_per_s": chosen.tokens_per_s}
        }
    cfg.model = ModelConfig(model=f"scripted/{(script or workload.script_path).resolve()}", extra=extra)
    cfg.agent.mode = LoopMode(loop_mode(mode))
    if mode == "plain":  # the baseline of memoized, speculative futures and early wake-ups
        cfg.executor.memoize = cfg.executor.speculate = cfg.agent.early_wake = False
    if settings.grace_s is not None:
        cfg.agent.grace_s = settings.grace_s
    cfg.sandbox = SandboxSettings(kind=settings.sandbox, options=dict(settings.sandbox_options))
    cfg.out_dir = run_dir
    cfg.branch_slug = f"bench-{name}"
    cfg.timeout_s = settings.timeout_s
    events: list[Event] = []
    session = Session(workload.issue, repo, cfg, subscribers=[events.append])
    try:
        outcome = await session.run()
    finally:
        if not settings.keep:
            await asyncio.to_thread(shutil.rmtree, repo_dir, True)
    patch_file = outcome.result.get("patch_file")
    patch = await asyncio.to_thread(Path(patch_file).read_text, "utf-8") if patch_file else ""
    return record_run(
        workload=workload.name, mode=mode, repeat=repeat, events=events, result=outcome.result,
        status=outcome.status, exit_reason=outcome.exit_reason, patch=patch,
        out_dir=str(outcome.out_dir), repo_s=repo_s,
    )


async def warm_up(settings: Settings) -> float:
    """One short run that nobody measures; returns its seconds."""
    from .profiles import PROFILES

    t = time.monotonic()
    script = settings.out_dir / "warm-up.yaml"
    await asyncio.to_thread(settings.out_dir.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(script.write_text, WARM_UP_SCRIPT, "utf-8")
    await run_one(settings.workloads[0], "async", 0, settings, script=script,
                  profile=PROFILES["instant"], label="warm-up", run_dir=settings.out_dir / "warm-up")
    return time.monotonic() - t


async def run_workload(
    workload: Workload, plan: Plan, settings: Settings, progress: Progress
) -> list[RunRecord]:
    """Every mode of ``workload``, ``repeat`` times, interleaved; each run analysed."""
    grace = grace_of(settings)
    runs = []
    for r in range(settings.repeat):
        for mode in mode_order(r, settings.modes):
            run = await run_one(workload, mode, r, settings)
            run.figures = analyse(run, plan, grace_s=grace)
            runs.append(run)
            progress(
                f"{workload.name:<16} {mode:<8} #{r + 1}  {run.wall_s:7.2f} s  "
                f"(bound {run.figures['lower_bound_s']:.2f} s, set-up {run.setup_s:.2f} s)  "
                f"{run.status}"
            )
    return runs


async def run_bench(settings: Settings, progress: Progress) -> dict[str, Any]:
    """The whole benchmark; returns the report (see ``summary.report``)."""
    from .summary import report

    started = time.time()
    progress(f"warming up ({settings.sandbox} sandbox) ...")
    warm = await warm_up(settings)
    progress(f"warm-up took {warm:.1f} s")
    results = []
    for workload in settings.workloads:
        profile = settings.profile.profile() if settings.profile else None
        plan = plan_from_script(workload.script(), profile)
        runs = await run_workload(workload, plan, settings, progress)
        results.append((workload, runs, plan))
    return report(settings, results, started=started, finished=time.time())
