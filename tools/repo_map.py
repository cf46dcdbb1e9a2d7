"""repo_map: the repository's most relevant definitions, within a token budget."""

from __future__ import annotations

import asyncio

from pydantic import Field

from ..codenav import DEFAULT_MAP_TOKENS, LANGUAGE_NAMES, RepoMapResult, repo_map
from .base import WHOLE, Effects, Tool, ToolArgs, ToolContext, ToolResult, norm_path
from .text import cap


class RepoMapArgs(ToolArgs):
    focus: list[str] = Field(
        default_factory=list,
        description="Files you are working on (relative paths): the map favours what they "
        "use and what uses them.",
    )
    max_tokens: int = Field(
        DEFAULT_MAP_TOKENS, ge=64, le=32_000, description="Size of the map, in tokens."
    )


class RepoMap(Tool[RepoMapArgs]):
    name = "repo_map"
    description = (
        "A map of the repository: its most relevant definitions (classes, functions, "
        "methods, types, with signatures and line numbers) grouped by file, within a token "
        "budget: the focus files first when given, then the most relevant others. Relevance "
        "comes from which files use which names, weighted towards the focus files. Use it to "
        "get oriented, then outline or read_file the parts that matter."
    )
    Args = RepoMapArgs
    default_timeout_s = 120.0

    def effects(self, args: RepoMapArgs) -> Effects:
        return Effects.read(WHOLE)

    async def run(self, ctx: ToolContext, args: RepoMapArgs) -> ToolResult:
        focus = [norm_path(p) for p in args.focus]
        result = await asyncio.to_thread(
            repo_map, ctx.workspace.root, focus=focus, max_tokens=args.max_tokens,
            git_dir=ctx.workspace.git_dir,
        )
        output, truncated = cap(_describe(result, args.max_tokens), ctx.config.output_limit, "head")
        meta = {"definitions": result.shown, "files": result.files_shown,
                "parsed": result.stats.parsed, "cached": result.stats.cached}
        return ToolResult(output=output, truncated=truncated, meta=meta)


def _describe(result: RepoMapResult, max_tokens: int) -> str:
    """The map and a line on what it covers, or why it is empty."""
    if result.definitions == 0:
        lines = [f"no definitions found: the repository has no source files in {LANGUAGE_NAMES}"]
    elif not result.text:
        lines = [f"max_tokens={max_tokens} is too small for a single definition"]
    else:
        lines = [result.text, f"[map: {result.summary()}]"]
    if result.unknown_focus:
        lines.append("[focus files not indexed (missing, or not source code): "
                     + ", ".join(result.unknown_focus) + "]")
    return "\n".join(lines)
