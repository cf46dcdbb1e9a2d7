"""read_file: numbered lines of a text file, a page at a time."""

from __future__ import annotations

from pydantic import Field

from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from .text import clip_line, read_source

#: Lines one call shows at most when the call gives no end_line.
PAGE_LINES = 400
#: Characters of one line shown at most.
LINE_WIDTH = 2_000


class ReadFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the repository root.")
    start_line: int | None = Field(None, ge=1, description="First line to show (1-based).")
    end_line: int | None = Field(None, ge=1, description="Last line to show (inclusive).")


def split_lines(text: str) -> list[str]:
    """The lines of a file; a final newline does not start another line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def number(lines: list[str], first: int, width: int) -> list[str]:
    """``cat -n`` style lines: the number, a tab, the text (without its CR)."""
    return [
        f"{n:>{width}}\t{clip_line(line.rstrip(chr(13)), LINE_WIDTH)}"
        for n, line in enumerate(lines, start=first)
    ]


class ReadFile(Tool[ReadFileArgs]):
    name = "read_file"
    description = (
        "Read a text file of the repository as numbered lines (number, tab, text; the "
        f"numbers are not part of the file). Shows up to {PAGE_LINES} lines per call; "
        "use start_line/end_line for a range."
    )
    Args = ReadFileArgs
    default_timeout_s = 30.0

    def effects(self, args: ReadFileArgs) -> Effects:
        return Effects.read(args.path)

    async def run(self, ctx: ToolContext, args: ReadFileArgs) -> ToolResult:
        rel, text = read_source(ctx, args.path)
        lines = split_lines(text)
        total = len(lines)
        if total == 0:
            return ToolResult(output=f"{rel} is empty (0 lines)", meta={"lines": 0})
        start, end = self._range(rel, total, args)
        page_end = end if args.end_line else min(end, start + PAGE_LINES - 1)
        width = len(str(page_end))
        kept = _fit(number(lines[start - 1 : page_end], start, width), ctx.config.output_limit)
        last = start + len(kept) - 1
        cut = last < end
        out = "\n".join(kept)
        if cut:
            out += (
                f"\n[showing lines {start:,}-{last:,} of {total:,}; call read_file with "
                f"start_line={last + 1} to continue]"
            )
        elif start > 1 or last < total:
            out += f"\n[lines {start:,}-{last:,} of {total:,}]"
        meta = {"lines": total, "start_line": start, "end_line": last}
        return ToolResult(output=out, truncated=cut, meta=meta)

    @staticmethod
    def _range(rel: str, total: int, args: ReadFileArgs) -> tuple[int, int]:
        start = args.start_line or 1
        if start > total:
            raise ToolError(
                f"start_line={start} is past the end of {rel}, which has {total:,} lines"
            )
        if args.end_line is None:
            return start, total
        if args.end_line < start:
            raise ToolError(f"end_line={args.end_line} is before start_line={start}")
        return start, min(total, args.end_line)


def _fit(lines: list[str], limit: int) -> list[str]:
    """The leading lines that fit in ``limit`` characters (always at least one)."""
    size = 0
    for i, line in enumerate(lines):
        size += len(line) + 1
        if size > limit and i > 0:
            return lines[:i]
    return lines
