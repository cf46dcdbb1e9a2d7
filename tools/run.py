"""run: a shell command at the repository root, reporting the files it changed."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from ..sandboxes.base import ExecResult
from .base import Effects, Tool, ToolArgs, ToolContext, ToolResult, ToolsConfig
from .outcomes import formats_for
from .outcomes.run import exec_with_outcomes
from .text import LIST_PATHS, command_result, plural, some_paths

#: Changed files named in the output at most; the result's ``edited`` has them all.
LIST_CHANGED = LIST_PATHS


class RunArgs(ToolArgs):
    command: str = Field(description="Shell command, run at the repository root.")
    timeout_s: float | None = Field(None, gt=0, description="Seconds before it is killed.")
    readonly: bool = Field(
        False,
        description="True for commands that change nothing (they run on a snapshot, "
        "in parallel with edits).",
    )


def changed_note(changed: list[str]) -> str:
    return f"[changed {plural(len(changed), 'file')}: {some_paths(changed, LIST_CHANGED)}]"


class Run(Tool[RunArgs]):
    name = "run"
    description = (
        "Run a shell command at the repository root and return its output (stdout and "
        "stderr) and exit code. Files it changes are tracked. Set readonly=true for "
        "commands that only read. A test command (pytest, go test, cargo test, jest) "
        "reports its counts and first failures while it runs, and its result starts "
        "with the failures."
    )
    Args = RunArgs
    default_timeout_s = ToolsConfig.command_timeout_s

    def effects(self, args: RunArgs) -> Effects:
        return Effects.snapshot_reader() if args.readonly else Effects.whole_writer()

    async def run(self, ctx: ToolContext, args: RunArgs) -> ToolResult:
        timeout_s = args.timeout_s or ctx.config.command_timeout_s
        # readonly commands run on a snapshot: whatever they write goes away with the copy
        if args.readonly:
            res, meta = await self._exec(ctx, args.command, timeout_s)
            changed: list[str] = []
        else:
            res, meta, changed = await self._tracked(ctx, args.command, timeout_s)
        return command_result(
            res,
            limit=ctx.config.output_limit,
            keep="tail" if meta else "both",
            timeout_s=timeout_s,
            edited=changed,
            notes=[changed_note(changed)] if changed else [],
            meta={"command": args.command, **meta},
        )

    @staticmethod
    async def _exec(
        ctx: ToolContext, command: str, timeout_s: float
    ) -> tuple[ExecResult, dict[str, Any]]:
        """Run ``command``; a test command's outcomes are read as it runs, and its result
        starts with its failures."""
        formats = formats_for(command)
        if not formats:
            return await ctx.exec(command, timeout_s=timeout_s), {}
        run = await exec_with_outcomes(ctx, command, formats, timeout_s=timeout_s)
        return run.result(ctx.config.output_limit), run.meta()

    @classmethod
    async def _tracked(
        cls, ctx: ToolContext, command: str, timeout_s: float
    ) -> tuple[ExecResult, dict[str, Any], list[str]]:
        """Run ``command`` on the workspace; also the files it changed (by mtime and size)."""
        ws = ctx.workspace
        before = await asyncio.to_thread(ws.fingerprint)
        res, meta = await cls._exec(ctx, command, timeout_s)
        after = await asyncio.to_thread(ws.fingerprint)
        return res, meta, ws.diff_fingerprints(before, after)
