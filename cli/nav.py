"""``map`` and ``outline``: code navigation from the command line."""

from __future__ import annotations

import typer


def map_command() -> None:
    """Print a map of the repository's most relevant definitions."""
    typer.echo("not built yet", err=True)
    raise typer.Exit(2)


def outline_command() -> None:
    """Print the outline of a source file."""
    typer.echo("not built yet", err=True)
    raise typer.Exit(2)
