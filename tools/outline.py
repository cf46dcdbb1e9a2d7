"""outline: the definitions of one source file, nested, with line ranges and signatures."""

from __future__ import annotations

import asyncio

from pydantic import Field

from ..codenav import LANGUAGE_NAMES, CodeNavError, outline_file
from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from .text import cap, locate, missing


class OutlineArgs(ToolArgs):
    path: str = Field(description="Source file, relative to the repository root.")


class Outline(Tool[OutlineArgs]):
    name = "outline"
    description = (
        "List what one source file defines: classes, functions and methods, and interfaces, "
        "structs, traits, impl blocks, enums and type aliases, nested, each with its line "
        f"range and signature. {LANGUAGE_NAMES}. Use it to find your way in a file before "
        "reading parts of it with read_file."
    )
    Args = OutlineArgs
    default_timeout_s = 30.0

    def effects(self, args: OutlineArgs) -> Effects:
        return Effects.read(args.path)

    async def run(self, ctx: ToolContext, args: OutlineArgs) -> ToolResult:
        rel, st = locate(ctx.workspace, args.path)
        if st is None:
            raise missing(ctx.workspace, rel)
        try:
            text = await asyncio.to_thread(outline_file, ctx.workspace.fs, rel)
        except CodeNavError as e:
            raise ToolError(str(e)) from e
        output, truncated = cap(text, ctx.config.output_limit, "head")
        return ToolResult(output=output, truncated=truncated)
