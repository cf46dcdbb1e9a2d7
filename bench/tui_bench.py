"""Benchmark of the live view: event-loop lag and wall time with many futures in flight.

    python bench/tui_bench.py [--futures 50] [--lines 60] [--interval 0.05] [--rounds 3]
                              [--sink pty|devnull]

A scripted run (the real loop, executor and local sandbox) dispatches ``--futures`` ``run``
calls at once (read-only, so they run side by side on snapshots), each printing
``--lines`` lines, one every ``--interval`` s, while the model streams its next turn; then
it awaits them all and answers. The same run goes with the live view drawing on a
terminal-like console (a pseudo-terminal that a thread drains, or /dev/null) and with the
plain line log on the same sink, alternating for ``--rounds`` rounds after a warm-up run.

A monitor task in the run's event loop sleeps 5 ms at a time and records how late it
wakes (the loop's lag), from the run's start to its end. Targets: lag p99 under 20 ms
with the live view, and its agent time under 5 % above the plain log's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml
from asyncfc_agent.agent.config import RunConfig
from asyncfc_agent.agent.events import Event, RunFinished, RunStarted
from asyncfc_agent.agent.loop import Mode
from asyncfc_agent.agent.session import Session
from asyncfc_agent.cli.plain import PlainLog
from asyncfc_agent.cli.tui import LiveView

TARGET_LAG_P99_S = 0.020
TARGET_WALL_RATIO = 1.05
TICK_S = 0.005
#: Decoding speed of the scripted model: a fast hosted model.
TOKENS_PER_S = 200


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("bench\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


def make_script(root: Path, repo: Path, futures: int, lines: int, interval: float) -> Path:
    """Turn 1 dispatches the jobs, turn 2 streams text while they run, then awaits them."""
    # the job is a script in the repository, so the model's calls are short and all of
    # them are dispatched (and in flight) within the first seconds
    # one process per job, sleeping in-process: forking a ``sleep`` per line would load
    # the machine more than anything measured here
    (repo / "job.py").write_text(
        "import sys, time\n"
        f"for i in range({lines}):\n"
        f"    print(f'job {{sys.argv[1]}} line {{i}}', flush=True)\n"
        f"    time.sleep({interval})\n"
    )
    calls = [{"name": "run", "args": {"command": f"python3 job.py {k}", "readonly": True}}
             for k in range(futures)]
    # about as long to stream as a job runs ("wordNNN " is two tokens to the scripted model)
    words = " ".join(f"word{i}" for i in range(int(lines * interval * TOKENS_PER_S / 2)))
    script = {
        "profile": {"ttft_s": 0.2, "tokens_per_s": TOKENS_PER_S},
        "turns": [
            {"text": f"Starting {futures} jobs.", "tool_calls": calls},
            {"text": f"While they run: {words}", "tool_calls": [{"name": "await_futures", "args": {}}]},
            {"text": "All done."},
        ],
    }
    path = root / "bench.yaml"
    path.write_text(yaml.safe_dump(script))
    return path


@dataclass
class LagMonitor:
    """Records the event loop's lag between the run's start and its end."""

    samples: list[float] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.started = time.perf_counter()
        elif isinstance(event, RunFinished):
            self.ended = time.perf_counter()

    async def run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK_S)
            if self.started is not None and self.ended is None:
                self.samples.append(time.perf_counter() - before - TICK_S)

    @property
    def wall_s(self) -> float:
        assert self.started is not None and self.ended is not None
        return self.ended - self.started


@contextlib.contextmanager
def sink(kind: str) -> Iterator[TextIO]:
    """Where the view writes: a pseudo-terminal drained by a thread, or /dev/null."""
    if kind == "devnull":
        with open(os.devnull, "w") as out:
            yield out
        return
    leader, follower = os.openpty()
    stop = threading.Event()

    def drain() -> None:  # what a terminal emulator does: read everything, promptly
        while not stop.is_set():
            try:
                if not os.read(leader, 65536):
                    return
            except OSError:
                return

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        with os.fdopen(follower, "w", closefd=False) as out:
            yield out
    finally:
        stop.set()
        os.close(follower)
        thread.join(timeout=2)
        os.close(leader)


@dataclass
class Measure:
    view: str
    lag_s: list[float]
    wall_s: float
    frames: int
    render_s: list[float]
    status: str


def counting(view: LiveView, times: list[float]) -> Callable[[], Any]:
    """The view's frame function, timed (the refresh thread calls it)."""
    frame = view.frame

    def timed() -> Any:
        t0 = time.perf_counter()
        try:
            return frame()
        finally:
            times.append(time.perf_counter() - t0)

    return timed


async def one_run(view_kind: str, repo: Path, script: Path, out: Path, sink_kind: str,
                  futures: int) -> Measure:
    cfg = RunConfig()
    cfg.model.model = f"scripted/{script}"
    cfg.agent.mode = Mode.ASYNC
    cfg.sandbox.kind = "local"
    cfg.executor.max_concurrency = futures + 8
    cfg.out_dir = out
    monitor = LagMonitor()
    render_times: list[float] = []
    from rich.console import Console

    with sink(sink_kind) as stream:
        display: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        subscriber: Callable[[Event], None]
        if view_kind == "live":
            console = Console(file=stream, force_terminal=True, width=120, height=40,
                              color_system="truecolor")
            live = LiveView(console=console)
            live.frame = counting(live, render_times)  # type: ignore[method-assign]
            display, subscriber = live, live
        else:
            subscriber = PlainLog(stream)
        session = Session("bench", repo, cfg, subscribers=[monitor.on_event, subscriber])
        task = asyncio.create_task(monitor.run())
        try:
            with display:
                outcome = await session.run()
        finally:
            task.cancel()
    return Measure(view_kind, monitor.samples, monitor.wall_s, len(render_times), render_times,
                   outcome.status)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(measures: list[Measure]) -> bool:
    print(f"{'view':<6} {'lag p50':>8} {'lag p99':>8} {'lag max':>8} {'samples':>8} "
          f"{'agent s':>8} {'frames':>7} {'frame p50':>10}")
    by_view: dict[str, list[Measure]] = {}
    for m in measures:
        by_view.setdefault(m.view, []).append(m)
        frame = f"{statistics.median(m.render_s) * 1000:.1f} ms" if m.render_s else "-"
        print(f"{m.view:<6} {pct(m.lag_s, 0.5) * 1000:7.2f}ms {pct(m.lag_s, 0.99) * 1000:7.2f}ms "
              f"{max(m.lag_s) * 1000:7.2f}ms {len(m.lag_s):8d} {m.wall_s:8.2f} {m.frames:7d} {frame:>10}")
    live_lag = [s for m in by_view["live"] for s in m.lag_s]
    plain_lag = [s for m in by_view["plain"] for s in m.lag_s]
    live_wall = statistics.median(m.wall_s for m in by_view["live"])
    plain_wall = statistics.median(m.wall_s for m in by_view["plain"])
    ratio = live_wall / plain_wall
    p99 = pct(live_lag, 0.99)
    print(f"\nall rounds: lag p99 live {p99 * 1000:.2f} ms (target < {TARGET_LAG_P99_S * 1000:.0f} ms), "
          f"plain {pct(plain_lag, 0.99) * 1000:.2f} ms")
    print(f"agent time (median): live {live_wall:.2f} s, plain {plain_wall:.2f} s, "
          f"ratio {ratio:.3f} (target < {TARGET_WALL_RATIO})")
    ok = p99 < TARGET_LAG_P99_S and ratio < TARGET_WALL_RATIO
    print("targets met" if ok else "TARGETS MISSED")
    return ok


async def main_async(args: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory(prefix="tui-bench-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("ASYNCFC_HOME", str(root / "home"))
        repo = make_repo(root)
        script = make_script(root, repo, args.futures, args.lines, args.interval)
        print(f"{args.futures} futures x {args.lines} lines every {args.interval} s, "
              f"sink {args.sink}, {args.rounds} rounds after a warm-up", flush=True)
        await one_run("plain", repo, script, root / "warm", args.sink, args.futures)
        measures = []
        for i in range(args.rounds):
            order = ("live", "plain") if i % 2 == 0 else ("plain", "live")
            for kind in order:
                m = await one_run(kind, repo, script, root / f"{kind}{i}", args.sink, args.futures)
                if m.status == "error":
                    raise SystemExit(f"the {kind} run failed; see {root / f'{kind}{i}'}")
                measures.append(m)
        return report(measures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--futures", type=int, default=50)
    parser.add_argument("--lines", type=int, default=160)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sink", choices=("pty", "devnull"), default="pty")
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(main_async(args)) else 1)


if __name__ == "__main__":
    main()
