"""edit_file: replace one exact, unique piece of a file, or say precisely why not."""

from __future__ import annotations

import asyncio
import difflib
import heapq
import re

from pydantic import Field

from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from .read_file import number, split_lines
from .text import read_source

#: Context lines shown around a change in the confirmation.
CONTEXT = 2
#: Changed lines shown per side of the confirmation; the rest is counted.
SHOW_LINES = 30
#: Similarity below which no "closest text" is suggested.
MIN_SIMILARITY = 0.6
#: Lines of ``old`` used to find the places that look like it.
ANCHORS = 2
#: A line as read_file prints it: the number, a tab, the text.
NUMBERED = re.compile(r"^\s*\d+\t")
WORD = re.compile(r"\w+")


class EditFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the repository root.")
    old: str = Field(description="Exact text to replace; must occur exactly once in the file.")
    new: str = Field(description="Replacement text.")


def occurrences(text: str, old: str) -> list[int]:
    """Offsets of every occurrence of ``old``, overlapping ones included."""
    found: list[int] = []
    i = text.find(old)
    while i != -1:
        found.append(i)
        i = text.find(old, i + 1)
    return found


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


class EditFile(Tool[EditFileArgs]):
    name = "edit_file"
    description = (
        "Replace text in a file: `old` must match the file exactly (whitespace included, "
        "no line numbers) and occur exactly once; include surrounding lines to make it "
        "unique. Use write_file to create a file."
    )
    Args = EditFileArgs
    default_timeout_s = 30.0

    def effects(self, args: EditFileArgs) -> Effects:
        return Effects.write(args.path)

    async def run(self, ctx: ToolContext, args: EditFileArgs) -> ToolResult:
        if not args.old:
            raise ToolError(
                "old is empty; to insert text, put a neighbouring line in old and in new; "
                "to create or overwrite a whole file, use write_file"
            )
        if args.old == args.new:
            raise ToolError("old and new are the same: the edit would change nothing")
        rel, text = read_source(ctx, args.path, if_missing="to create it, use write_file")
        old, new = _line_endings(text, args.old, args.new)
        offset = await self._unique(rel, text, old)
        updated = text[:offset] + new + text[offset + len(old) :]
        ctx.workspace.write_text(rel, updated)
        summary = confirmation(rel, text, updated, offset, old, new)
        return ToolResult(output=summary, edited=[rel], meta={"line": line_of(text, offset)})

    @staticmethod
    async def _unique(rel: str, text: str, old: str) -> int:
        found = occurrences(text, old)
        if len(found) == 1:
            return found[0]
        if not found:
            # searching for the closest text is CPU work: off the event loop
            raise ToolError(await asyncio.to_thread(not_found, rel, text, old))
        lines = ", ".join(str(line_of(text, i)) for i in found[:20])
        more = ", ..." if len(found) > 20 else ""
        raise ToolError(
            f"old occurs {len(found)} times in {rel} (lines {lines}{more}); "
            "include more surrounding context to make it unique"
        )


def _line_endings(text: str, old: str, new: str) -> tuple[str, str]:
    """Old and new with the file's CRLF line ends: read_file shows lines without the CR."""
    if "\r\n" in text and "\r\n" not in old and "\n" in old and old not in text:
        return old.replace("\n", "\r\n"), new.replace("\r\n", "\n").replace("\n", "\r\n")
    return old, new


def not_found(rel: str, text: str, old: str) -> str:
    """Why ``old`` is not in the file, with the nearest text when there is one."""
    base = f"old does not occur in {rel}"
    old_lines = split_lines(old)
    if old_lines and all(NUMBERED.match(line) for line in old_lines):
        return base + "; it seems to include line numbers from read_file: leave them out"
    lines = split_lines(text)
    found = _closest(lines, old_lines)
    if found is None:
        return base + "; read the file again to see its current text"
    start, score = found
    window = lines[start : start + len(old_lines)]
    if _squash(window) == _squash(old_lines):
        why = "matches it except for whitespace (indentation, tabs or trailing spaces)"
    else:
        why = f"is the closest text ({score:.0%} similar)"
    last = start + len(window)
    where = f"line {last}" if last == start + 1 else f"lines {start + 1}-{last}"
    quoted = "\n".join(number(window, start + 1, len(str(last))))
    return f"{base}. The text at {where} {why}; copy it exactly:\n{quoted}"


def _closest(lines: list[str], old_lines: list[str]) -> tuple[int, float] | None:
    """Start index and similarity of the run of lines most like ``old_lines``, if any is.

    Comparing every window of a long file costs seconds, so only the windows around the
    lines sharing the most words with the longest lines of ``old`` are compared.
    """
    span = len(old_lines)
    squashed = _squash(lines)
    target = _squash(old_lines)
    words = [set(WORD.findall(line)) for line in squashed]
    starts: set[int] = set()
    for k in sorted(range(span), key=lambda k: -len(target[k]))[:ANCHORS]:
        anchor = set(WORD.findall(target[k]))
        if anchor:
            near = heapq.nlargest(3, range(len(words)), key=lambda i: _jaccard(anchor, words[i]))
            starts.update(i - k for i in near)
    matcher = difflib.SequenceMatcher(autojunk=False, b="\n".join(target))
    best: tuple[int, float] | None = None
    for start in sorted(s for s in starts if 0 <= s <= len(lines) - span):
        matcher.set_seq1("\n".join(squashed[start : start + span]))
        score = matcher.ratio()
        if score >= MIN_SIMILARITY and (best is None or score > best[1]):
            best = (start, score)
    return best


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if b else 0.0


def _squash(lines: list[str]) -> list[str]:
    return [" ".join(line.split()) for line in lines]


def confirmation(rel: str, before: str, after: str, offset: int, old: str, new: str) -> str:
    """A short diff of the change with line numbers: context, ``-`` old lines, ``+`` new ones."""
    first = line_of(before, offset)
    old_n = _span(before, offset, len(old))
    new_n = _span(after, offset, len(new))
    whole_lines = (offset == 0 or before[offset - 1] == "\n") and old.endswith("\n")
    if new_n == 0 and not whole_lines:
        new_n = 1  # part of a line was deleted: show what is left of it
    a, b = split_lines(before), split_lines(after)
    width = len(str(max(len(a), len(b), 1)))
    lo = max(0, first - 1 - CONTEXT)
    tail = first - 1 + new_n
    return "\n".join([
        f"edited {rel} at line {first}: -{old_n} +{new_n} lines",
        *_numbered(" ", b[lo : first - 1], lo + 1, width),
        *_numbered("-", a[first - 1 : first - 1 + old_n], first, width),
        *_numbered("+", b[first - 1 : tail], first, width),
        *_numbered(" ", b[tail : tail + CONTEXT], tail + 1, width),
    ])


def _span(text: str, start: int, length: int) -> int:
    """How many lines ``text[start:start + length]`` touches."""
    if length == 0:
        return 0
    return line_of(text, start + length - 1) - line_of(text, start) + 1


def _numbered(mark: str, lines: list[str], first: int, width: int) -> list[str]:
    shown = [f"{mark}{n:>{width}}  {line.rstrip(chr(13))}" for n, line in enumerate(lines, first)]
    if len(shown) > SHOW_LINES:
        hidden = len(shown) - SHOW_LINES
        half = SHOW_LINES // 2
        shown = [*shown[:half], f"{mark}  [... {hidden} more lines]", *shown[-half:]]
    return shown
