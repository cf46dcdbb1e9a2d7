"""``sandbox build|ls|prune|run``: manage and debug sandboxes."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build the sandbox image, list, prune and try sandboxes.", no_args_is_help=True)
