"""Helpers of ``demo``: a fresh git copy of the bundled repository, and the comparison."""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from ..agent.session import RunOutcome


#: Demo repositories kept (the newest); older ones are removed when a new one is made.
KEEP_DEMOS = 6
#: A demo repository younger than this is never removed (another demo may be using it).
KEEP_YOUNGER_S = 3600.0


def fresh_demo_repo() -> Path:
    """A new git repository holding the bundled example, in the data directory."""
    from ..agent.hostgit import new_repo
    from ..agent.session import new_run_id
    from ..agent.workarea import data_dir
    from ..examples import DEMO_REPO

    root = data_dir() / "demo"
    prune_demo_repos(root)
    dest = root / new_run_id() / "dates"
    shutil.copytree(DEMO_REPO, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    new_repo(dest, "The dates library")
    return dest


def prune_demo_repos(root: Path, keep: int = KEEP_DEMOS - 1) -> list[Path]:
    """Remove the demo repositories of ``root`` but the newest ``keep`` and the recent ones.

    Their branches were only ever in them, and each demo prints where its repository is,
    so they are there to look at for a while, not to pile up. Returns what was removed.
    """
    import time

    if not root.is_dir():
        return []
    runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    now = time.time()
    removed = []
    for old in runs[keep:]:
        if now - old.stat().st_mtime >= KEEP_YOUNGER_S:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


def print_comparison(modes: list[str], outcomes: list[RunOutcome], *, err: bool = False) -> None:
    """Wall times of the agent's work (set-up left out: it is the same in every mode)."""
    out = sys.stderr if err else sys.stdout
    loops = [o.result.get("loop_s") or 0.0 for o in outcomes]
    print(file=out)
    for mode, loop, o in zip(modes, loops, outcomes, strict=True):
        total = o.result.get("wall_s") or 0.0
        print(f"{mode:>8}: {loop:6.2f} s of agent work ({total:.2f} s with set-up), {o.status}", file=out)
    if len(loops) == 2 and loops[0] > 0:
        print(f" speedup: {loops[1] / loops[0]:.2f}x ({modes[0]} over {modes[1]})", file=out)
