"""find_symbol: where a name is defined and where it is used, across the repository."""

from __future__ import annotations

import asyncio

from pydantic import Field

from ..codenav import (
    DEFAULT_MAX_REFERENCES,
    LANGUAGE_NAMES,
    CodeNavError,
    find_symbol_text,
)
from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult, norm_path
from .text import cap, missing


class FindSymbolArgs(ToolArgs):
    name: str = Field(
        description="A name (`parse_config`), or a name in its class or type (`Config.load`)."
    )
    path: str = Field(
        "", description="Only look in this file or directory (relative); the whole repository "
        "when empty."
    )
    max_references: int = Field(
        DEFAULT_MAX_REFERENCES, ge=1, le=2_000, description="References listed at most."
    )


class FindSymbol(Tool[FindSymbolArgs]):
    name = "find_symbol"
    description = (
        "Find the definitions of a name (with their line ranges and signatures) and the lines "
        f"that use it, across the repository's {LANGUAGE_NAMES} files; definitions come "
        "first. Uses are matched by name, like a word search that skips comments and strings."
    )
    Args = FindSymbolArgs
    default_timeout_s = 60.0

    def effects(self, args: FindSymbolArgs) -> Effects:
        return Effects.read(args.path)

    async def run(self, ctx: ToolContext, args: FindSymbolArgs) -> ToolResult:
        within = norm_path(args.path)
        if within and ctx.workspace.stat(within) is None:
            raise missing(ctx.workspace, within, "file or directory")
        try:
            text = await asyncio.to_thread(
                find_symbol_text, ctx.workspace.root, args.name, within=within,
                max_references=args.max_references, git_dir=ctx.workspace.git_dir,
            )
        except CodeNavError as e:
            raise ToolError(str(e)) from e
        output, truncated = cap(text, ctx.config.output_limit, "head")
        return ToolResult(output=output, truncated=truncated)
