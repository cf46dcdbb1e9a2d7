"""The futures executor: every repository tool call runs as a future.

It owns the futures, their states, dependencies (``${fN}`` references), per-path
read/write ordering, snapshots for whole-workspace readers, timeouts, cancellation and a
concurrency cap, all inside one task group. It publishes events and never prints.

Ordering: a future waits for every earlier future whose effects conflict with its own to
release its locks. A writer releases when it ends; a snapshot reader as soon as its
snapshot is taken, so edits never wait for a test suite.

In async mode a snapshot reader may take its result from another run of the same call on
the same content (agent/memo.py), and after an edit the last test or build call may be
started ahead of the model on the new revision (agent/speculate.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from pydantic import ValidationError

from ..sandboxes.base import Sandbox, SandboxDied, SandboxError, SandboxLimit, Snapshot
from ..sandboxes.factory import future_sandbox
from ..tools.base import WHOLE, Effects, Tool, ToolContext, ToolResult, ToolsConfig
from ..tools.errors import ToolError
from ..tools.workspace import Workspace
from . import protocol
from .events import (
    EventBus,
    FutureCreated,
    FutureResolved,
    FutureStarted,
    WorkspaceEdited,
)
from .futures import Future, FutureState
from .joins import reuse
from .memo import MemoTable, TreeHasher
from .output import OutputBatcher, Streams
from .partial import PartialResults
from .refs import references, substitute
from .sandbox_keeper import SandboxFactory, SandboxKeeper
from .speculate import Speculator

#: Paths an edit event names at most; past them it names the whole workspace.
EDITED_PATHS_SHOWN = 1000


@dataclass
class ExecutorConfig:
    """Settings of the executor."""

    #: Futures running at once, at most; more wait for a slot.
    max_concurrency: int = 16
    #: Seconds a future may run when its call gives no ``timeout_s``.
    future_timeout_s: float = 900.0
    #: Seconds added to a call's own ``timeout_s`` before the executor stops it, so a
    #: tool that handles its timeout itself can report partial output first.
    timeout_margin_s: float = 5.0
    #: Seconds between two output events of one future (output is batched).
    output_interval_s: float = 0.05
    #: Characters of one future's output published as events (views, trajectory); past
    #: it a note says so, and the result still has the output's head and tail.
    output_event_limit: int = 1_000_000
    #: Seconds a future waits for a sandbox that died to be replaced (a Docker engine
    #: restarting), trying again and again, before it runs on and fails with the reason.
    sandbox_wait_s: float = 30.0
    #: Give a test suite, build or read-only command the result of an identical call on
    #: the same workspace content and image (joining it while it runs). Async mode only.
    memoize: bool = True
    #: After an edit, start the last test or build call on the new revision before the
    #: model asks (with spare capacity, at a lower priority); the call then joins it.
    #: Async mode only.
    speculate: bool = True


class CallRejected(Exception):
    """A call that cannot become a future at all (unknown id in a reference, cycle)."""


class Executor:
    def __init__(
        self,
        *,
        tools: dict[str, Tool[Any]],
        sandbox: Sandbox,
        workspace: Workspace,
        bus: EventBus,
        config: ExecutorConfig | None = None,
        tools_config: ToolsConfig | None = None,
        sandbox_factory: SandboxFactory | None = None,
        first_id: int = 1,
    ) -> None:
        self.tools = tools
        self.workspace = workspace
        self.bus = bus
        self.config = config or ExecutorConfig()
        self._keeper = SandboxKeeper(sandbox, sandbox_factory, bus, self.config.sandbox_wait_s)
        self.tools_config = tools_config or ToolsConfig()
        self.futures: dict[str, Future] = {}
        self._seq = first_id - 1  # a resumed session goes on after its last id
        # futures holding their locks (not yet released), by kind, in issue order
        self._writers: dict[str, Future] = {}
        self._readers: dict[str, Future] = {}
        self._slots = asyncio.Semaphore(self.config.max_concurrency)
        self._changed = asyncio.Event()  # replaced by a fresh one at every change
        self._tg: asyncio.TaskGroup | None = None
        self.memo = MemoTable()
        self.hasher = TreeHasher(workspace)
        self.whole_writes = 0  # whole-workspace writers that ended (they may change anything)
        self.writes_started = 0  # writers that got past their blockers
        self.speculator = Speculator(self)
        self._closing = False
        self.streams = Streams(
            OutputBatcher(bus, interval_s=self.config.output_interval_s,
                          event_limit=self.config.output_event_limit,
                          keep=self.tools_config.output_limit),
            PartialResults(  # test runs' outcomes so far (joiners get them through it)
                bus, self._notify,
                lookup=lambda fid: self.futures.get(fid) or self.speculator.futures.get(fid)),
        )

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = self._keeper.closing = True
        self.cancel_all("the run ended")
        self.speculator.cancel_all("the run ended")
        assert self._tg is not None
        tg, self._tg = self._tg, None
        # The body's own exception propagates as it is (not wrapped in a group): the task
        # group only has to wait for the futures, which never raise, to end.
        await tg.__aexit__(None, None, None)

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox commands run in now (a new one after the last died)."""
        return self._keeper.sandbox

    # -- submitting ------------------------------------------------------------------

    def next_id(self) -> str:
        return f"f{self._seq + 1}"

    @property
    def last_seq(self) -> int:
        """The number of the last future submitted (0 before any)."""
        return self._seq

    def submit(self, tool_name: str, args: dict[str, Any], *, call_id: str, turn: int) -> Future:
        """Create the future of a repository tool call and start driving it.

        Always returns a future with the next id; a call that cannot run (bad arguments,
        unknown reference, cycle) gets a future that is already failed, with the reason.
        """
        if self._tg is None:
            raise RuntimeError("the executor is not running (use it as 'async with')")
        tool = self.tools[tool_name]
        self._seq += 1
        fid = f"f{self._seq}"
        deps = references(args)
        effects, problem = self._effects(tool, args, fid, deps)
        future = Future(
            id=fid, tool=tool_name, args=args, deps=deps, effects=effects, turn=turn,
            call_id=call_id, created_s=self.bus.now(), seq=self._seq,
        )
        self.futures[fid] = future
        self.bus.publish(
            FutureCreated(fid, tool_name, args, deps, effects.describe(), turn)
        )
        if problem is not None:
            self._finish(future, FutureState.FAILED, error=problem)
            return future
        blockers = self._blockers(effects)
        self._hold(future)
        future.task = self._tg.create_task(self._drive(future, tool, blockers), name=fid)
        return future

    def _blockers(self, effects: Effects) -> list[Future]:
        """Earlier futures holding locks that conflict with ``effects``.

        Readers never conflict with readers, so a reader only looks at the writers that
        hold locks: a burst of reads stays linear.
        """
        candidates = list(self._writers.values())
        if effects.writes:
            candidates += self._readers.values()
        return sorted((g for g in candidates if g.effects.conflicts(effects)), key=lambda g: g.seq)

    def _hold(self, future: Future) -> None:
        (self._writers if future.effects.writes else self._readers)[future.id] = future

    def _release(self, future: Future) -> None:
        self._writers.pop(future.id, None)
        self._readers.pop(future.id, None)
        future.released.set()

    def _effects(
        self, tool: Tool[Any], args: dict[str, Any], fid: str, deps: list[str]
    ) -> tuple[Effects, str | None]:
        unknown = [d for d in deps if d not in self.futures and d != fid]
        if fid in deps:
            return Effects(), f"{fid} refers to its own result (${{{fid}}}): a cycle"
        if unknown:
            known = ", ".join(self.futures) or "none yet"
            return Effects(), f"unknown future {', '.join(unknown)} (known: {known})"
        try:
            effects = tool.effects(tool.parse(args))
        except (ValidationError, ToolError) as exc:
            return Effects(), protocol.describe_error(tool.name, exc)
        if deps:  # a path may come from a reference: widen it to the whole workspace
            effects = Effects(
                reads=frozenset(WHOLE if "${" in p else p for p in effects.reads),
                writes=frozenset(WHOLE if "${" in p else p for p in effects.writes),
                snapshot=effects.snapshot,
            )
        return effects, None

    # -- driving one future ----------------------------------------------------------

    async def _drive(self, future: Future, tool: Tool[Any], blockers: list[Future]) -> None:
        state, error, result = FutureState.FAILED, "", None
        try:
            args = await self._resolve_args(future)
            parsed = tool.parse(args)
            for blocker in blockers:
                await blocker.released.wait()
            if future.effects.writes:
                self.writes_started += 1
            self.speculator.observe(future, args)
            result = await reuse(self, future, tool, parsed)
            if result is None:
                async with self.slot():
                    result = await self._run(future, tool, parsed)
            state = FutureState.TIMED_OUT if result.meta.get("timed_out") else FutureState.RESOLVED
            if state is FutureState.TIMED_OUT:
                error = (result.meta.get("timeout_note")
                         or f"timed out after {self._timeout(tool, parsed):.0f} s")
        except _DependencyFailed as exc:
            error = str(exc)
        except (ValidationError, ToolError) as exc:
            error = protocol.describe_error(tool.name, exc)
        except TimeoutError:
            state, error = FutureState.TIMED_OUT, "timed out (stopped by the executor)"
        except SandboxDied as exc:
            error = f"the sandbox died: {exc}"
            await self._keeper.replace()
        except SandboxLimit as exc:
            error = str(exc)
        except SandboxError as exc:
            error = f"sandbox error: {exc}"
        except asyncio.CancelledError:
            state = FutureState.CANCELLED
            error = future.error or "cancelled"
        except Exception as exc:  # a bug in a tool must not take the run down
            error = f"internal error in {tool.name}: {exc!r}"
        if WHOLE in future.effects.writes:
            self.whole_writes += 1
        self._finish(future, state, error=error, result=result)
        if future.effects.writes:
            self.speculator.changed(future)

    def slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A slot for a call of the model: a speculative run gives its slot up for it."""
        if self._slots.locked():
            self.speculator.preempt()
        return self._slots

    async def _resolve_args(self, future: Future) -> dict[str, Any]:
        values: dict[str, str] = {}
        for dep_id in future.deps:
            dep = self.futures[dep_id]
            await dep.done.wait()
            if dep.state is not FutureState.RESOLVED or dep.result is None:
                raise _DependencyFailed(
                    f"dependency {dep_id} {dep.state.value}: {dep.error or 'no result'}"
                )
            values[dep_id] = dep.result.output
        return substitute(future.args, values) if values else future.args

    async def _run(
        self, future: Future, tool: Tool[Any], parsed: Any, *,
        taken: Callable[[], None] | None = None, nice: int = 0,
    ) -> ToolResult:
        """Run the call; ``taken`` is called once its snapshot is taken (it may raise to
        drop the run), ``nice`` lowers the priority of its command."""
        future.state = FutureState.RUNNING
        future.started_s = self.bus.now()
        future.workspace_rev = self.workspace.revision
        if self._keeper.lost:
            await self._keeper.wait()
        sandbox = self.sandbox
        snapshot: Snapshot | None = None
        try:
            async with contextlib.AsyncExitStack() as stack:
                box = sandbox
                if future.effects.snapshot:
                    snapshot = await sandbox.snapshot(self.workspace.revision)
                    self._release(future)  # later writers may go on: the copy is taken
                    if taken is not None:
                        taken()
                    # a long reader may get a container of its own (isolation "future")
                    box = await stack.enter_async_context(future_sandbox(sandbox))
                self.bus.publish(FutureStarted(future.id, future.workspace_rev, snapshot is not None))
                ctx = ToolContext(
                    sandbox=box,
                    workspace=self.workspace,
                    config=self.tools_config,
                    future_id=future.id,
                    snapshot=snapshot,
                    emit=lambda text: self.streams.emit(future, text),
                    progress=lambda outcomes: self.streams.progress(future, outcomes),
                    nice=nice,
                )
                async with asyncio.timeout(self._timeout(tool, parsed)):
                    result = await tool.run(ctx, parsed)
        finally:
            if snapshot is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(sandbox.remove_snapshot(snapshot))
        if result.edited:
            rev = self.workspace.record_edit(result.edited, future.id)
            edited = sorted(set(result.edited))
            if len(edited) > EDITED_PATHS_SHOWN:  # a command made thousands of files
                edited = [*edited[:EDITED_PATHS_SHOWN], WHOLE]  # WHOLE: "and everything else"
            self.bus.publish(WorkspaceEdited(rev, edited, future.id))
        return result

    def _timeout(self, tool: Tool[Any], parsed: Any) -> float:
        own = getattr(parsed, "timeout_s", None)
        if own:
            return float(own) + self.config.timeout_margin_s
        return self.config.future_timeout_s

    def _finish(
        self,
        future: Future,
        state: FutureState,
        *,
        error: str = "",
        result: ToolResult | None = None,
    ) -> None:
        self.streams.close(future)
        future.state = state
        future.error = error or None
        future.result = result
        future.ended_s = self.bus.now()
        if future.workspace_rev is None:
            future.workspace_rev = self.workspace.revision
        future.message = protocol.render_result(future, self.workspace, self.bus.now())
        self._release(future)
        self.memo.ended(future)
        future.done.set()
        self.bus.publish(
            FutureResolved(
                future.id, future.tool, state.value,
                result.exit_code if result is not None else None,
                round(future.duration_s(self.bus.now()), 4), future.workspace_rev,
                future.message,
            )
        )
        self._notify()

    # -- waiting and cancelling ------------------------------------------------------

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(
        self,
        futures: Iterable[Future],
        *,
        mode: str = "all",
        timeout_s: float | None = None,
        until: Callable[[Future], bool] | None = None,
    ) -> bool:
        """Wait until all (or any) of ``futures`` reach a final state, or until one that
        runs meets ``until`` (a failing test); False on timeout."""
        chosen = list(futures)
        if not chosen:
            return True

        def ready() -> bool:
            done = [f.done.is_set() for f in chosen]
            if until is not None and any(until(f) for f in chosen if not f.done.is_set()):
                return True
            return all(done) if mode == "all" else any(done)

        try:
            async with asyncio.timeout(timeout_s):
                while not ready():
                    await self._changed.wait()
        except TimeoutError:
            return ready()
        return True

    def cancel(self, fid: str, reason: str = "cancelled") -> bool:
        """Cancel a future that has not ended; False when it already had."""
        future = self.futures[fid]
        if future.done.is_set() or future.task is None:
            return False
        future.error = reason
        future.task.cancel()
        return True

    def cancel_all(self, reason: str) -> int:
        return sum(self.cancel(fid, reason) for fid, f in self.futures.items() if not f.done.is_set())

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Cancel everything that still runs and wait (bounded) for it to end."""
        self.cancel_all("the run ended")
        self.speculator.cancel_all("the run ended")
        pending = [f for f in [*self.futures.values(), *self.speculator.futures.values()]
                   if not f.done.is_set()]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                for f in pending:
                    await f.done.wait()

    def peek(self, future: Future) -> str:
        """Output the model has not been shown yet (and mark it shown)."""
        text = future.output_text()
        new = text[future.peeked_chars :]
        future.peeked_chars = len(text)
        return new

    def undelivered(self) -> list[Future]:
        return [f for f in self.futures.values() if not f.delivered]


class _DependencyFailed(Exception):
    pass
