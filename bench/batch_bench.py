"""Wall time of a batch of six scripted tasks with 1, 2 and 3 workers (a benchmark, not a test).

    python -m asyncfc_agent.bench.batch_bench [--workers 1,2,3] [--repeats 1] [--ray-address ADDR]

Two small repositories, three tasks each, every task a full ``solve`` run in the local
sandbox: worktree, sandbox, the scripted model with a latency profile (so most of a task
is the model "thinking", as with a real one), the tests, commit and patch. One Ray instance
serves every run, so its start-up (reported apart) is not in the figures. Each task
reserves half a CPU, so three fit at once on a two-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ..batch.engine import connect
from ..batch.reserve import Resources
from ..batch.run import BatchPlan, BatchResult, run_batch
from ..batch.tasks import Defaults, load_tasks

TASKS = 6
BUGGY = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
#: A task of a few seconds of model time: read and test, edit, test again, answer.
SCRIPT: dict[str, Any] = {
    "profile": {"ttft_s": 0.5, "tokens_per_s": 80},
    "turns": [
        {"text": "Run the tests and read the code.", "think_tokens": 120,
         "tool_calls": [{"name": "run_tests", "args": {}},
                        {"name": "read_file", "args": {"path": "calc.py"}}]},
        {"think_tokens": 160,
         "tool_calls": [{"name": "edit_file", "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}}]},
        {"tool_calls": [{"name": "run_tests", "args": {}}]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"text": "add() adds now.", "think_tokens": 40},
    ],
}


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "calc.py").write_text(BUGGY)
    (path / "test_calc.py").write_text(TEST)
    (path / "pytest.ini").write_text("[pytest]\n")
    ident = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*ident, "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return path


def make_batch(root: Path) -> Path:
    """The tasks file: six tasks over two repositories, all on one script."""
    repos = [make_repo(root / "calc-a"), make_repo(root / "calc-b")]
    (root / "fix.yaml").write_text(yaml.safe_dump(SCRIPT))
    path = root / "tasks.jsonl"
    path.write_text("".join(
        json.dumps({"id": f"t{i}", "repo": str(repos[i % 2]), "issue": "add() subtracts",
                    "model": "scripted/fix.yaml"}) + "\n"
        for i in range(TASKS)
    ))
    return path


class Log:
    """The batch's events as JSON lines, shown only when a round goes wrong."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def task_started(self, task_id: str, node: dict[str, Any]) -> None:
        self.lines.append(json.dumps({"started": task_id, "node": node}, default=str))

    def task_finished(self, line: dict[str, Any]) -> None:
        self.lines.append(json.dumps(line, default=str))

    def interrupted(self) -> None:
        self.lines.append('{"interrupted": true}')


def run_once(tasks: Path, out: Path, workers: int, log: Log) -> BatchResult:
    plan = BatchPlan(tasks=load_tasks(tasks, Defaults(sandbox="local")), out=out, workers=workers,
                     resources=Resources(cpus=0.5, memory_bytes=512 * 1024**2))
    return run_batch(plan, lambda _n, _skipped: log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", default="1,2,3", help="comma-separated worker counts")
    parser.add_argument("--repeats", type=int, default=1, help="runs per worker count (the best counts)")
    parser.add_argument("--ray-address", default=None, help="a cluster to join (default: a local instance)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as scratch:
        root = Path(scratch)
        # before Ray starts, so that its workers inherit it: worktrees stay in the scratch
        os.environ["ASYNCFC_HOME"] = str(root / "home")
        os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        tasks = make_batch(root)
        began = time.monotonic()
        with connect(args.ray_address) as cluster:
            start_s = time.monotonic() - began
            print(f"{cluster.describe()} (ready in {start_s:.1f} s)", file=sys.stderr)
            rows: list[dict[str, Any]] = []
            for workers in counts:
                walls = []
                for k in range(args.repeats):
                    log = Log()
                    result = run_once(tasks, root / f"out-{workers}-{k}", workers, log)
                    if result.count("solved") != TASKS:
                        print("\n".join(log.lines), file=sys.stderr)
                        raise SystemExit(f"{workers} workers: not every task was solved")
                    walls.append(result.wall_s)
                rows.append({"workers": workers, "wall_s": round(min(walls), 2), "runs": walls})
    base = next((r["wall_s"] for r in rows if r["workers"] == 1), rows[0]["wall_s"])
    print(f"{TASKS} tasks, 2 repositories, local sandbox, scripted model")
    print(f"{'workers':>7}  {'wall s':>7}  {'speedup':>7}")
    for row in rows:
        row["speedup"] = round(base / row["wall_s"], 2)
        print(f"{row['workers']:>7}  {row['wall_s']:>7.1f}  {row['speedup']:>6.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"cluster": cluster.describe(), "ray_start_s": round(start_s, 2),
                                         "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
