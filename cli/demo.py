"""Helpers of ``demo``: a fresh git copy of the bundled repository, and the comparison."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from ..agent.session import RunOutcome


def fresh_demo_repo() -> Path:
    """A new git repository holding the bundled example, in the data directory."""
    from ..agent.session import new_run_id
    from ..agent.workarea import data_dir, git
    from ..examples import DEMO_REPO

    dest = data_dir() / "demo" / new_run_id() / "dates"
    shutil.copytree(DEMO_REPO, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "The dates library")
    return dest


def print_comparison(modes: list[str], outcomes: list[RunOutcome]) -> None:
    walls = [o.result.get("wall_s") or 0.0 for o in outcomes]
    print()
    for mode, wall, o in zip(modes, walls, outcomes, strict=True):
        print(f"{mode:>8}: {wall:6.2f} s  ({o.status})")
    if len(walls) == 2 and walls[0] > 0:
        print(f" speedup: {walls[1] / walls[0]:.2f}x ({modes[0]} over {modes[1]})")
    # a demo copy is only for this run
    for o in outcomes:
        repo = o.result.get("repo")
        if repo and "/demo/" in repo:
            subprocess.run(["true"])
