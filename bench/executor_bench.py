"""The executor's own overhead (a benchmark, not a test).

    python -m asyncfc_agent.bench.executor_bench [--futures 1000] [--in-flight 100]

1. Bookkeeping per future: N trivial futures (a tool that returns at once, so only the
   executor's work is timed: ids, effects, locks, events, rendering the result) and N
   real ``read_file`` futures, submitted together and awaited.
2. Event-loop lag with M futures in flight: M real processes (``run`` of a sleep with
   output) while a ticker measures how late its 5 ms sleeps wake up.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from ..agent.events import EventBus
from ..agent.executor import Executor, ExecutorConfig
from ..sandboxes.local import LocalSandbox
from ..tools import load_tools
from ..tools.base import Effects, Tool, ToolArgs, ToolContext, ToolResult
from ..tools.workspace import Workspace


class NoopArgs(ToolArgs):
    n: int = 0


class Noop(Tool[NoopArgs]):
    name: ClassVar[str] = "noop"
    description: ClassVar[str] = "Returns at once."
    Args = NoopArgs

    def effects(self, args: NoopArgs) -> Effects:
        return Effects.read(f"f{args.n % 50}.txt")

    async def run(self, ctx: ToolContext, args: NoopArgs) -> ToolResult:
        return ToolResult(output=f"ok {args.n}")


def _executor(root: Path, box: LocalSandbox, tools: dict[str, Any], cap: int) -> Executor:
    bus = EventBus()
    events: list[object] = []
    bus.subscribe(events.append)  # a subscriber, as the trajectory writer would be
    return Executor(tools=tools, sandbox=box, workspace=Workspace(root), bus=bus,
                    config=ExecutorConfig(max_concurrency=cap))


async def per_future(root: Path, n: int) -> dict[str, float]:
    figures = {}
    for label, tool_name, make_args in (
        ("noop", "noop", lambda i: {"n": i}),
        ("read_file", "read_file", lambda i: {"path": f"f{i % 50}.txt"}),
    ):
        tools = {"noop": Noop(), **load_tools(["read_file"])}
        async with LocalSandbox(root) as box, _executor(root, box, tools, cap=64) as ex:
            started = time.perf_counter()
            futures = [ex.submit(tool_name, make_args(i), call_id=str(i), turn=1) for i in range(n)]
            await ex.wait(futures)
            elapsed = time.perf_counter() - started
            assert all(f.state.value == "resolved" for f in futures)
        figures[f"{label}_ms_per_future"] = elapsed / n * 1000
    return figures


async def loop_lag(root: Path, in_flight: int) -> dict[str, float]:
    lags: list[float] = []
    async with LocalSandbox(root) as box, _executor(root, box, load_tools(["run"]), cap=in_flight) as ex:
        # read-only commands run side by side, each on its own snapshot (a writer would
        # hold the whole workspace and run them one after another)
        futures = [
            ex.submit("run", {"command": "for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.4; done",
                              "readonly": True}, call_id=str(i), turn=1)
            for i in range(in_flight)
        ]
        peak = 0
        while not all(f.done.is_set() for f in futures):
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append((time.perf_counter() - t - 0.005) * 1000)
            peak = max(peak, sum(f.state.value == "running" for f in futures))
        assert all(f.state.value == "resolved" for f in futures), [f.error for f in futures if f.error]
    lags.sort()
    return {
        "lag_p50_ms": statistics.median(lags),
        "lag_p99_ms": lags[int(len(lags) * 0.99) - 1],
        "lag_max_ms": lags[-1],
        "samples": float(len(lags)),
        "peak_running": float(peak),
    }


async def main_async(n: int, in_flight: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(50):
            (root / f"f{i}.txt").write_text("line\n" * 20)
        for key, value in (await per_future(root, n)).items():
            print(f"{key:>26}: {value:.3f}  ({n} futures)")
        for key, value in (await loop_lag(root, in_flight)).items():
            print(f"{key:>26}: {value:.2f}  ({in_flight} futures in flight)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--futures", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main_async(args.futures, args.in_flight))


if __name__ == "__main__":
    main()
