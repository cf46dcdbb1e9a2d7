"""``bench``: sync, parallel and async tool calling on the shipped workloads."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

#: Exit codes: figures are never a failure; broken runs and disagreeing patches are.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3
REPEAT, QUICK_REPEAT = 3, 1


class BenchSandbox(StrEnum):
    docker = "docker"
    local = "local"
    auto = "auto"


def bench(
    workload: Annotated[Optional[list[str]], typer.Option("--workload", "-w", help="A workload to run (a name, or a workload folder); repeat for several. Default: all.")] = None,  # noqa: UP045
    repeat: Annotated[Optional[int], typer.Option("--repeat", "-n", min=1, help=f"Runs per mode and workload (default {REPEAT}; {QUICK_REPEAT} with --quick).")] = None,  # noqa: UP045
    profile: Annotated[Optional[str], typer.Option("--profile", "-p", help="Latency profile of the model: fast, slow, local, quick, instant, or 'script' for each script's own (default fast; quick with --quick).")] = None,  # noqa: UP045
    sandbox: Annotated[BenchSandbox, typer.Option("--sandbox", help="Where the tools run, the same for every run: docker, local, or auto (docker when usable).")] = BenchSandbox.auto,
    quick: Annotated[bool, typer.Option("--quick", help="Smaller workloads, one run per mode, a fast profile: under two minutes.")] = False,
    scale: Annotated[Optional[float], typer.Option("--scale", min=0.01, help="Scale of the workloads' waits and work (default 1; each workload's quick scale with --quick).")] = None,  # noqa: UP045
    json_out: Annotated[Optional[Path], typer.Option("--json-out", help="Write the report as JSON to this file.")] = None,  # noqa: UP045
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write a bar chart (SVG) to this file.")] = None,  # noqa: UP045
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for the runs' records (default: a new folder under the data directory).")] = None,  # noqa: UP045
    keep: Annotated[bool, typer.Option("--keep", help="Keep the repositories the runs worked on.")] = False,
    list_only: Annotated[bool, typer.Option("--list", help="List the workloads and profiles, and exit.")] = False,
    mode: Annotated[Optional[list[str]], typer.Option("--mode", help="A mode to run: sync, parallel, plain (async without memoized and speculative futures and early wake-ups) or async; repeat for several. Default: all four.")] = None,  # noqa: UP045
) -> None:
    """Compare sync, parallel and async tool calls on shipped workloads, against the lower bound."""
    from ..bench import catalog, profiles

    if list_only:
        _list(catalog, profiles)
        raise typer.Exit(EXIT_OK)
    if plot is not None and plot.suffix.lower() != ".svg":
        _fail("--plot writes SVG: give a file name ending in .svg", EXIT_USAGE)
    try:
        chosen = [catalog.find(w) for w in workload] if workload else catalog.builtin()
        prof = None if profile == "script" else profiles.get(profile or (profiles.QUICK if quick else profiles.DEFAULT))
    except (catalog.WorkloadError, profiles.UnknownProfile) as exc:
        _fail(str(exc), EXIT_USAGE)
    from ..bench.bounds import MODES

    unknown = [m for m in mode or [] if m not in MODES]
    if unknown:
        _fail(f"unknown mode {', '.join(unknown)}; the modes are: {', '.join(MODES)}", EXIT_USAGE)
    modes = tuple(m for m in MODES if m in mode) if mode else MODES
    kind = _sandbox_kind(sandbox)
    settings = _settings(chosen, prof, repeat or (QUICK_REPEAT if quick else REPEAT), kind, out,
                         scale=scale, quick=quick, keep=keep, modes=modes)
    rep = _run(settings)
    rep["command"] = _command_line(workload, repeat, profile, sandbox, quick, scale, mode)
    from ..bench import report, summary

    typer.echo("")
    typer.echo(report.render(rep))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(rep, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"\nreport: {json_out}")
    if plot is not None:
        plot.parent.mkdir(parents=True, exist_ok=True)
        plot.write_text(report.svg(rep), encoding="utf-8")
        typer.echo(f"chart:  {plot}")
    typer.echo(f"runs:   {settings.out_dir}")
    problems = summary.failures(rep)
    for p in problems:
        typer.echo(f"error: {p}", err=True)
    raise typer.Exit(EXIT_FAILED if problems else EXIT_OK)


def _list(catalog: Any, profiles: Any) -> None:
    typer.echo("workloads:")
    for w in catalog.builtin():
        typer.echo(f"  {w.name:<16} {w.description}")
    typer.echo("profiles:")
    for p in profiles.PROFILES.values():
        default = " (default)" if p.name == profiles.DEFAULT else ""
        typer.echo(f"  {p.name:<8} first token {p.ttft_s:g} s, {p.tokens_per_s:g} tokens/s: {p.description}{default}")


def _sandbox_kind(choice: BenchSandbox) -> str:
    """One kind for every run: "auto" is decided once, here."""
    from ..agent.sandboxing import engine_reachable

    kind = choice.value
    if choice is BenchSandbox.auto:
        kind = "docker" if engine_reachable() else "local"
        typer.echo(f"sandbox: {kind} (auto)", err=True)
    if kind == "docker":
        _ensure_image()
    return kind


def _ensure_image() -> None:
    """Build the default image first where it is missing (every run would need it)."""
    from ..sandboxes.base import SandboxError
    from ..sandboxes.image import ensure_default_image

    try:
        result = ensure_default_image(progress=lambda line: typer.echo(f"sandbox image: {line}", err=True))
    except SandboxError as exc:
        _fail(str(exc), 3)
    if result.built:
        typer.echo(f"built {result.image} ({result.method}) in {result.seconds:.0f} s", err=True)


def _settings(workloads: list[Any], prof: Any, repeat: int, kind: str, out: Path | None,
              **kw: Any) -> Any:
    from ..agent.session import new_run_id
    from ..agent.workarea import data_dir
    from ..bench.runner import Settings

    out_dir = (out or data_dir() / "bench" / new_run_id()).resolve()
    return Settings(workloads=workloads, profile=prof, repeat=repeat, sandbox=kind,
                    out_dir=out_dir, **kw)


def _run(settings: Any) -> dict[str, Any]:
    import asyncio

    from ..bench.runner import run_bench

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    try:
        return asyncio.run(run_bench(settings, progress))
    except KeyboardInterrupt:
        typer.echo(f"\ninterrupted; the runs so far are in {settings.out_dir}", err=True)
        raise typer.Exit(130) from None


def _command_line(workload: list[str] | None, repeat: int | None, profile: str | None,
                  sandbox: BenchSandbox, quick: bool, scale: float | None,
                  modes: list[str] | None = None) -> str:
    """The command that reproduces the figures (output options left out)."""
    parts = ["asyncfc-agent", "bench", "--sandbox", sandbox.value]
    for w in workload or []:
        parts += ["--workload", w]
    if quick:
        parts.append("--quick")
    if repeat is not None:
        parts += ["--repeat", str(repeat)]
    if profile is not None:
        parts += ["--profile", profile]
    if scale is not None:
        parts += ["--scale", f"{scale:g}"]
    for m in modes or []:
        parts += ["--mode", m]
    return " ".join(parts)


def _fail(message: str, code: int) -> Any:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
