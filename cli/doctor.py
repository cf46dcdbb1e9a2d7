"""``doctor``: what a run needs on this machine, and what to do about each missing piece."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

_MARKS = {"ok": "ok  ", "warn": "warn", "missing": "MISS"}


def doctor(
    repo: Annotated[Path, typer.Option("--repo", help="The repository runs would work on.")] = Path("."),
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="The model to check (default: the configured one).")] = None,  # noqa: UP045
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Base URL of the model's server.")] = None,  # noqa: UP045
    ping: Annotated[bool, typer.Option("--ping", help="Also send the model a one-token request.")] = False,
) -> None:
    """Check Docker, the sandbox image, git, ripgrep, the config and the model's key."""
    from ..agent.doctor import run_checks
    from .sanitize import sanitize_line

    checks = run_checks(repo, model=model, api_base=api_base, ping=ping)
    width = max(len(c.name) for c in checks)
    for c in checks:
        typer.echo(f"{_MARKS[c.status]}  {c.name:<{width}}  {sanitize_line(c.detail)}")
        if c.fix and c.status != "ok":
            typer.echo(f"      {'':<{width}}  fix: {c.fix}")
    missing = [c.name for c in checks if c.status == "missing"]
    if missing:
        typer.echo(f"\nmissing: {', '.join(missing)}", err=True)
    raise typer.Exit(1 if missing else 0)
