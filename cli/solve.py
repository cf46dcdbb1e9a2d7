"""``solve`` and ``demo``."""

from __future__ import annotations

import typer


def solve() -> None:
    """Solve an issue in a repository."""
    raise typer.Exit(2)


def demo() -> None:
    """Run the bundled example with the scripted model."""
    raise typer.Exit(2)
