"""Calls that take their result from another run of the same call on the same content.

A snapshot reader of the model, holding its read lock, computes its memo key
(agent/memo.py). When a future with that key is running or has resolved, the call joins
it: it waits for that run without a slot or a snapshot of its own, and its result is that
run's, with a line saying where it came from. When that run ends without a result
(cancelled, failed), the call runs itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from ..tools.base import Tool, ToolResult
from .events import FutureJoined, FutureStarted
from .futures import Future, FutureState
from .memo import memo_key, normalised_args, sandbox_image

if TYPE_CHECKING:
    from .executor import Executor


async def current_key(ex: Executor, tool: Tool[Any], parsed: Any) -> str:
    """The memo key of a call on the workspace as it is now."""
    tree = await asyncio.to_thread(ex.hasher.tree_hash)
    commands = f"{ex.tools_config.test_command}\0{ex.tools_config.build_command}"
    return memo_key(tool.name, normalised_args(parsed), tree, ex.whole_writes,
                    sandbox_image(ex.sandbox), commands)


async def reuse(ex: Executor, future: Future, tool: Tool[Any], parsed: Any) -> ToolResult | None:
    """The result of an identical call's run (joined, or resolved), or None: run it.

    Called holding the future's read lock, so no writer can change the workspace between
    the key and the snapshot of the future's own run."""
    config = ex.config
    if not (future.effects.snapshot and (config.memoize or config.speculate)):
        return None
    key = await current_key(ex, tool, parsed)
    source = ex.memo.get(key)
    # with memoize off, only the speculative runs are joined
    if source is not None and (config.memoize or source.speculative):
        result = await join_result(ex, future, source)
        if result is not None:
            return result
        # its run failed or was cancelled: this call runs, in order again
        blockers = ex._blockers(future.effects)
        ex._hold(future)
        for blocker in blockers:
            await blocker.released.wait()
        return None
    if config.memoize:
        ex.memo.add(key, future)
    return None


async def join_result(ex: Executor, future: Future, source: Future) -> ToolResult | None:
    """``future`` takes its result from ``source``'s run of the same call on the same
    content; None when that run ends without a result (the call then runs itself)."""
    now = ex.bus.now()
    reused = source.done.is_set()
    head_start = max(0.0, (source.ended_s if reused and source.ended_s is not None else now)
                     - (source.started_s if source.started_s is not None else now))
    future.state = FutureState.RUNNING
    future.started_s = now
    future.workspace_rev = ex.workspace.revision
    ex._release(future)  # the content it would see is that of the run it joins
    ex.bus.publish(FutureStarted(future.id, future.workspace_rev, True))
    ex.bus.publish(FutureJoined(future.id, source.id, source.speculative, reused, round(head_start, 4)))
    source.joiners += 1
    if not reused:
        ex.streams.follow(future, source)
    try:
        await source.done.wait()
    finally:
        source.joiners -= 1
        ex.streams.unfollow(future, source)
    if source.result is None or source.state not in (FutureState.RESOLVED, FutureState.TIMED_OUT):
        future.state = FutureState.PENDING
        return None
    future.joined = source.id
    future.note = join_note(future, source, reused, head_start)
    return dataclasses.replace(source.result, edited=[], meta={**source.result.meta, "joined": source.id})


def join_note(future: Future, source: Future, reused: bool, head_start: float) -> str:
    """The line under a joined result's header: where its result came from. It never
    names a speculative future (the model did not ask for one)."""
    if source.speculative:
        when = "it had ended: nothing ran again" if reused else f"{head_start:.1f} s before it"
        return (f"[{future.id} {future.tool}: the same call on the same files, started ahead of "
                f"this call after the edit that made rev {source.workspace_rev} (a speculative "
                f"start); {when}]")
    if reused:
        return (f"[{future.id} {future.tool}: the result of {source.id}, the same call on the "
                "same files and image; nothing ran again]")
    return (f"[{future.id} {future.tool}: joined {source.id}, the same call on the same files, "
            f"running for {head_start:.1f} s when this call was made]")
