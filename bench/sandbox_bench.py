"""Benchmark of the sandboxes: start time, per-command overhead, streaming, commands side by
side, snapshot time.

    python bench/sandbox_bench.py [--kinds docker,local] [--starts 5] [--commands 50]
                                  [--snapshot-mb 50]

Each figure for the Docker sandbox beside the local one. Targets (docker): start under
1.5 s, overhead of a trivial command under 60 ms (median), snapshot of a 50 MB workspace
under 1 s. Docker needs the default image (``asyncfc-agent sandbox build``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from asyncfc_agent.sandboxes.base import Sandbox
from asyncfc_agent.sandboxes.factory import make_sandbox

TARGETS = {"start_s": 1.5, "command_median_s": 0.060, "snapshot_s": 1.0}


def make_workspace(root: Path, megabytes: int) -> Path:
    """A tree of ``megabytes`` MB in 100 KB files over 20 folders, plus a little source."""
    workspace = root / "workspace"
    for i in range(megabytes * 10):
        folder = workspace / f"pkg{i % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"data{i}.bin").write_bytes(os.urandom(100 * 1024))
    (workspace / "pkg0" / "mod.py").write_text("VALUE = 1\n")
    return workspace


def new_sandbox(kind: str, workspace: Path) -> Sandbox:
    return make_sandbox(kind, workspace, session_id=f"bench-{os.getpid()}")


async def measure_start(kind: str, workspace: Path, runs: int) -> dict[str, float]:
    starts, closes = [], []
    for _ in range(runs):
        box = new_sandbox(kind, workspace)
        t0 = time.perf_counter()
        await box.start()
        t1 = time.perf_counter()
        await box.exec("true")
        t2 = time.perf_counter()
        await box.close()
        starts.append(t1 - t0)
        closes.append(time.perf_counter() - t2)
    return {"start_s": statistics.median(starts), "close_s": statistics.median(closes)}


async def measure_commands(box: Sandbox, count: int) -> dict[str, float]:
    for _ in range(3):  # warm up
        await box.exec("true")
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        result = await box.exec("true")
        times.append(time.perf_counter() - t0)
        assert result.exit_code == 0
    times.sort()
    return {"command_median_s": statistics.median(times), "command_p90_s": times[int(0.9 * count)]}


async def measure_snapshot(box: Sandbox, runs: int = 3) -> dict[str, float]:
    times = []
    for revision in range(runs):
        t0 = time.perf_counter()
        snapshot = await box.snapshot(revision)
        times.append(time.perf_counter() - t0)
        await box.remove_snapshot(snapshot)
    return {"snapshot_s": statistics.median(times)}


async def measure_streaming(box: Sandbox) -> dict[str, float]:
    """How soon a command's first line arrives while it runs on, and what four one-second
    commands side by side take beyond their second."""
    t0 = time.perf_counter()
    first: list[float] = []
    await box.exec("echo first; sleep 1; echo second",
                   on_output=lambda _text: first.append(time.perf_counter() - t0) if not first else None)
    t1 = time.perf_counter()
    await asyncio.gather(*(box.exec("sleep 1") for _ in range(4)))
    return {"first_output_s": first[0], "side_by_side_extra_s": time.perf_counter() - t1 - 1.0}


async def bench(kind: str, workspace: Path, args: argparse.Namespace) -> dict[str, float]:
    figures = await measure_start(kind, workspace, args.starts)
    async with new_sandbox(kind, workspace) as box:
        figures |= await measure_commands(box, args.commands)
        figures |= await measure_streaming(box)
        figures |= await measure_snapshot(box)
    return figures


def report(results: dict[str, dict[str, float]], megabytes: int) -> str:
    labels = {
        "start_s": "start (until commands can run)",
        "close_s": "close (container removed)",
        "command_median_s": "trivial command, median",
        "command_p90_s": "trivial command, p90",
        "first_output_s": "first line of a running command",
        "side_by_side_extra_s": "4 x sleep 1 at once, beyond 1 s",
        "snapshot_s": f"snapshot of {megabytes} MB",
    }
    kinds = list(results)
    lines = [f"{'':34}" + "".join(f"{k:>12}" for k in kinds) + f"{'target':>12}"]
    for key, label in labels.items():
        cells = "".join(f"{results[k][key] * 1000:>10.1f}ms" for k in kinds)
        target = f"{TARGETS[key] * 1000:>10.0f}ms" if key in TARGETS else ""
        lines.append(f"{label:34}{cells}{target:>12}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="docker,local")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--snapshot-mb", type=int, default=50)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    try:
        workspace = make_workspace(scratch, args.snapshot_mb)
        results = {kind: asyncio.run(bench(kind, workspace, args)) for kind in args.kinds.split(",")}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(report(results, args.snapshot_mb))
    docker = results.get("docker", {})
    missed = [key for key, limit in TARGETS.items() if key in docker and docker[key] > limit]
    if missed:
        print(f"docker misses its target on: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
