"""Text for the reader: outlines, and repository maps fitted to a token budget.

A map is a compact tree: a file's path, then one line per definition with its line
number and signature, indented by nesting. A definition shown without its enclosing
class would be hard to place, so its enclosing definitions come along.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .rank import RankedDefinition
from .tags import FileTags

_INDENT = "  "


def estimate_tokens(text: str) -> int:
    """About four characters to a token: close enough for code, and free to compute."""
    return -(-len(text) // 4)


@dataclass(frozen=True)
class FittedMap:
    text: str
    #: How many ranked definitions made it in (enclosing ones shown for context aside).
    shown: int


def fit_map(
    ranked: Sequence[RankedDefinition], files: Mapping[str, FileTags], max_tokens: int
) -> FittedMap:
    """The map of the longest prefix of ``ranked`` whose text fits ``max_tokens``."""
    low, high = 0, _upper_bound(ranked, max_tokens)
    best = ""
    while low < high:  # invariant: the prefix of `low` fits; none longer than `high` does
        mid = (low + high + 1) // 2
        text = render_map(ranked[:mid], files)
        if estimate_tokens(text) <= max_tokens:
            low, best = mid, text
        else:
            high = mid - 1
    return FittedMap(best, low)


def _upper_bound(ranked: Sequence[RankedDefinition], max_tokens: int) -> int:
    """A prefix length no fitting map exceeds: each definition costs at least its own
    line, so rendering (and searching) whole maps of huge repositories is never needed."""
    budget = max_tokens * 4
    used = 0
    for n, r in enumerate(ranked):
        used += len(r.definition.signature) + 3
        if used > budget:
            return n
    return len(ranked)


def render_map(selected: Iterable[RankedDefinition], files: Mapping[str, FileTags]) -> str:
    """Focus files first, then the others from the most central down; definitions in
    source order. (A focus file can rank below a file it leans on heavily, but the reader
    looks for the files they named first.)"""
    by_file: dict[str, set[int]] = {}
    order_keys: dict[str, tuple[bool, float, str]] = {}
    for r in selected:
        by_file.setdefault(r.path, set()).add(r.index)
        order_keys[r.path] = (not r.in_focus, -round(r.file_rank, 12), r.path)
    order = sorted(by_file, key=order_keys.__getitem__)
    blocks = [
        _map_block(path, files[path], _with_enclosing(files[path], by_file[path]))
        for path in order
    ]
    return "\n".join(blocks)


def _with_enclosing(tags: FileTags, indices: set[int]) -> list[int]:
    shown = set(indices)
    for index in indices:
        parent = tags.definitions[index].parent
        while parent >= 0 and parent not in shown:
            shown.add(parent)
            parent = tags.definitions[parent].parent
    return sorted(shown)


def _map_block(path: str, tags: FileTags, indices: list[int]) -> str:
    width = len(str(max(tags.definitions[i].line for i in indices)))
    lines = [f"{path}:"]
    for i in indices:
        d = tags.definitions[i]
        lines.append(f"{_INDENT}{d.line:>{width}} {_INDENT * tags.depth(i)}{d.signature}")
    return "\n".join(lines)


def render_outline(path: str, tags: FileTags) -> str:
    """Every definition of one file with its line range, nested."""
    count = len(tags.definitions)
    header = f"{path} ({tags.language}, {count} definition{'' if count == 1 else 's'})"
    if tags.has_errors:
        header += " [syntax errors: showing what could be read]"
    if not tags.definitions:
        return header
    spans = [f"{d.line}-{d.end_line}" for d in tags.definitions]
    width = max(len(s) for s in spans)
    lines = [header]
    for i, (span, d) in enumerate(zip(spans, tags.definitions, strict=True)):
        lines.append(f"{_INDENT}{span:>{width}} {_INDENT * tags.depth(i)}{d.signature}")
    return "\n".join(lines)
