"""list_files: the files under a directory, sorted, without the noise of ignored dirs."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache

from pydantic import Field

from ..safefs import FsError, as_text
from ..safefs import walk as tree_walk
from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from .text import locate, missing, plural, shown
from .workspace import IGNORED_DIRS, Workspace, is_dir

#: Entries one call lists at most (before the character cap).
MAX_ENTRIES = 2_000


class ListFilesArgs(ToolArgs):
    path: str = Field(".", description="Directory relative to the repository root.")
    pattern: str | None = Field(
        None,
        description="Glob. Without '/' it matches file names ('*.py'); with '/' the path "
        "below `path` ('src/**/*.ts'). '**' spans directories.",
    )
    max_depth: int | None = Field(
        None, ge=1, description="1 lists only the entries of `path` itself; deeper dirs end in '/'."
    )


@lru_cache(maxsize=64)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex: ``*`` and ``?`` stay within a path segment, ``**`` spans segments."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def matcher(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else glob_regex(pattern.strip("/"))


def walk(
    ws: Workspace, top: str, max_depth: int | None, pattern: str | None
) -> tuple[list[str], list[str]]:
    """(files, dirs cut off by max_depth), as paths relative to ``top``.

    Symlinks are listed by name and never entered, so none leads the walk out."""
    regex = matcher(pattern)
    by_name = pattern is not None and "/" not in pattern.strip("/")
    files: list[str] = []
    deep_dirs: list[str] = []
    for listing in tree_walk(ws.fs, top):
        rel_dir = as_text(listing.rel)
        prefix = "" if not rel_dir else rel_dir + "/"
        depth = 0 if not rel_dir else rel_dir.count("/") + 1
        listing.dirs[:] = sorted(d for d in listing.dirs if d not in IGNORED_DIRS)
        if max_depth is not None and depth + 1 >= max_depth:
            deep_dirs += [prefix + as_text(d) + "/" for d in listing.dirs]
            listing.dirs[:] = []
        for entry in listing.others:
            name = as_text(entry.name)
            rel = prefix + name
            if regex is None or regex.match(name if by_name else rel):
                files.append(rel)
    return files, deep_dirs


def _walk_listed(
    ws: Workspace, top: str, max_depth: int | None, pattern: str | None
) -> tuple[list[str], list[str]]:
    try:
        return walk(ws, top, max_depth, pattern)
    except FsError as e:  # the directory was swapped for something else meanwhile
        raise ToolError(f"cannot list {shown(top)}: {e}") from None
    except OSError as e:
        raise ToolError(f"cannot list {shown(top)}: {e.strerror or e}") from None


class ListFiles(Tool[ListFilesArgs]):
    name = "list_files"
    description = (
        "List the files under a directory of the repository (recursively, sorted, paths "
        "relative to the repository root; .git, node_modules, caches and venvs are skipped)."
    )
    Args = ListFilesArgs
    default_timeout_s = 60.0

    def effects(self, args: ListFilesArgs) -> Effects:
        return Effects.read(args.path)

    async def run(self, ctx: ToolContext, args: ListFilesArgs) -> ToolResult:
        rel, st = locate(ctx.workspace, args.path)
        if st is None:
            raise missing(ctx.workspace, rel, "directory")
        if not is_dir(st):
            return ToolResult(output=rel, meta={"files": 1})
        # a large tree takes a while to walk: off the event loop
        files, deep_dirs = await asyncio.to_thread(
            _walk_listed, ctx.workspace, rel, args.max_depth, args.pattern
        )
        # a pattern selects files; the directories a depth limit hides are only context
        entries = files if args.pattern else files + deep_dirs
        prefix = "" if not rel else rel + "/"
        listed = sorted(prefix + e for e in entries)
        if not listed:
            return ToolResult(output=self._nothing(rel, args), meta={"files": 0})
        return self._render(listed, len(files), ctx.config.output_limit)

    @staticmethod
    def _nothing(rel: str, args: ListFilesArgs) -> str:
        if args.pattern:
            return f"no files under {shown(rel)} match {args.pattern!r}"
        return f"{shown(rel)} holds no files"

    @staticmethod
    def _render(listed: list[str], n_files: int, limit: int) -> ToolResult:
        kept: list[str] = []
        size = 0
        for entry in listed[:MAX_ENTRIES]:
            size += len(entry) + 1
            if size > limit:
                break
            kept.append(entry)
        out = "\n".join(kept)
        left = len(listed) - len(kept)
        if left:
            out += (
                f"\n[... {plural(left, 'more entry', 'more entries')} not shown; narrow the "
                "listing with path, pattern or max_depth]"
            )
        return ToolResult(output=out, truncated=left > 0, meta={"files": n_files})
