"""write_file: create a file or replace its whole content."""

from __future__ import annotations

from pydantic import Field

from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from .read_file import split_lines
from .text import locate, plural, shown
from .workspace import is_dir


class WriteFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the repository root.")
    content: str = Field(description="The whole new content of the file.")


class WriteFile(Tool[WriteFileArgs]):
    name = "write_file"
    description = (
        "Create a file, or overwrite one with new content (missing parent directories are "
        "created). To change part of an existing file, use edit_file."
    )
    Args = WriteFileArgs
    default_timeout_s = 30.0

    def effects(self, args: WriteFileArgs) -> Effects:
        return Effects.write(args.path)

    async def run(self, ctx: ToolContext, args: WriteFileArgs) -> ToolResult:
        rel, st = locate(ctx.workspace, args.path)
        if is_dir(st):
            raise ToolError(f"{shown(rel)} is a directory; give the path of a file in it")
        size = plural(len(split_lines(args.content)), "line")
        if st is None:
            self._write(ctx, rel, args.content)
            return ToolResult(output=f"created {rel} ({size})", edited=[rel])
        content = args.content.encode("utf-8")
        if st.st_size == len(content) and self._current(ctx, rel) == content:
            return ToolResult(output=f"{rel} already has this content ({size}); nothing written")
        self._write(ctx, rel, args.content)
        return ToolResult(output=f"overwrote {rel} ({size})", edited=[rel])

    @staticmethod
    def _current(ctx: ToolContext, rel: str) -> bytes | None:
        try:
            return ctx.workspace.read_bytes(rel)
        except ToolError:  # not a regular file: writing says why
            return None

    @staticmethod
    def _write(ctx: ToolContext, rel: str, content: str) -> None:
        try:
            ctx.workspace.write_text(rel, content)
        except OSError as e:
            # e.g. a parent that is a file: the OS says "Not a directory" about some path
            raise ToolError(f"cannot write {rel}: {e.strerror or e}") from None
