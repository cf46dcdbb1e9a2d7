"""Helpers the repository tools share: paths given by the model, capping, result formatting.

Every tool caps what it returns at ``ToolsConfig.output_limit`` characters and says so in
the output, and every command result is formatted here, so that the model reads one
style of note and status line whichever tool it called.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, Literal

from ..sandboxes.base import ExecResult, cap_output
from .base import ToolContext, ToolResult, norm_path
from .errors import ToolError
from .workspace import PathIsDirectory, PathMissing, Workspace, WorkspaceError

Keep = Literal["head", "tail", "both"]


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 file``, ``2,310 files``: counts as the model reads them in notes."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {words or word + 's'}"


#: Paths a note lists at most; the rest are counted.
LIST_PATHS = 20


def some_paths(paths: list[str], limit: int = LIST_PATHS) -> str:
    """``a, b, ... (19,980 more)``: a command can change a quarter of a million files, and
    each result that names them would otherwise carry every name."""
    more = f", ... ({len(paths) - limit:,} more)" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


def shown(path: str) -> str:
    """A workspace-relative path as the model should read it (``.`` for the root)."""
    return path or "."


# --- paths -----------------------------------------------------------------------------


def locate(ws: Workspace, raw: str) -> tuple[str, os.stat_result | None]:
    """The normalised relative path of a path argument, and the stat of what it leads to
    (None when nothing is there).

    ``norm_path`` refuses absolute and ``../`` paths; ``Workspace.stat`` also refuses
    symlinks that lead out of the workspace.
    """
    rel = norm_path(raw)
    return rel, ws.stat(rel)


def missing(ws: Workspace, rel: str, what: str = "file") -> ToolError:
    """The error for a path that does not exist, naming close names that do."""
    parent, _, name = rel.rpartition("/")
    where = parent
    names = None
    while names is None:
        try:
            names = ws.list_dir(where)
        except WorkspaceError:  # missing or not a directory: try the one above
            if not where:
                names = []
            where = where.rpartition("/")[0]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    message = f"{rel}: no such {what}"
    if close:
        prefix = "" if not where else where + "/"
        message += "; did you mean " + " or ".join(prefix + c for c in close) + "?"
    elif where != parent:
        message += f" (the nearest existing directory is {shown(where)}; try list_files on it)"
    return ToolError(message)


def read_source(ctx: ToolContext, raw: str, if_missing: str = "") -> tuple[str, str]:
    """(relative path, text) of a text file of the workspace, with errors the model can act on.

    ``if_missing`` is added, in brackets, to the error for a file that does not exist.
    """
    rel = norm_path(raw)
    try:
        data = ctx.workspace.read_bytes(rel)
    except PathMissing:
        extra = f" ({if_missing})" if if_missing else ""
        raise ToolError(f"{missing(ctx.workspace, rel)}{extra}") from None
    except PathIsDirectory:
        raise ToolError(f"{shown(rel)} is a directory; use list_files to see what it holds") from None
    if b"\0" in data[:8192]:
        raise WorkspaceError(f"{rel} is a binary file ({len(data)} bytes)")
    try:
        # a file that is not UTF-8 would be corrupted by writing decoded text back
        return rel, data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise WorkspaceError(
            f"{rel} is not UTF-8 text (bad byte at offset {e.start}); use run for it"
        ) from None


# --- capping ---------------------------------------------------------------------------


def cap_head(text: str, limit: int) -> tuple[str, bool]:
    """The start of ``text`` within ``limit`` characters, cut at a line end where one is near."""
    if len(text) <= limit:
        return text, False
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit], True


def cap_tail(text: str, limit: int) -> tuple[str, bool]:
    """The end of ``text`` within ``limit`` characters, starting at a line where one is near."""
    if len(text) <= limit:
        return text, False
    start = len(text) - limit
    nl = text.find("\n", start)
    if nl != -1 and nl - start < limit // 2:
        start = nl + 1
    return text[start:], True


def cap(text: str, limit: int, keep: Keep) -> tuple[str, bool]:
    """Cap command output, with a note saying what was cut."""
    if keep == "both":
        return cap_output(text, limit)
    if keep == "head":
        kept, cut = cap_head(text, limit)
        if cut:
            kept += f"\n[... output truncated: {len(text) - len(kept):,} more characters cut]"
        return kept, cut
    kept, cut = cap_tail(text, limit)
    if cut:
        kept = f"[... output truncated: the first {len(text) - len(kept):,} characters cut]\n" + kept
    return kept, cut


def clip_line(line: str, width: int) -> str:
    """One line within ``width`` characters (minified files have lines of megabytes)."""
    if len(line) <= width:
        return line
    return line[:width] + f" [... {len(line) - width:,} more characters on this line]"


# --- command results -------------------------------------------------------------------


def status_line(res: ExecResult, timeout_s: float | None = None) -> str:
    """``[exit 1 in 3.2 s]``, or what a timeout did."""
    if res.timed_out:
        limit = timeout_s if timeout_s is not None else res.duration_s
        return f"[timed out after {limit:g} s: the command was killed; output so far is above]"
    return f"[exit {res.exit_code} in {res.duration_s:.1f} s]"


def command_result(
    res: ExecResult,
    *,
    limit: int,
    keep: Keep = "both",
    timeout_s: float | None = None,
    meta: dict[str, Any] | None = None,
    edited: list[str] | None = None,
    notes: list[str] | None = None,
) -> ToolResult:
    """The result of a command: its capped output, notes, and the status line when it matters.

    A clean, successful run with output needs no status line; a failure, a timeout or an
    empty output does (an empty result would leave the model guessing).
    """
    output, truncated = cap(res.output.rstrip("\n"), limit, keep)
    lines = [output] if output else []
    lines += notes or []
    if res.timed_out or res.exit_code != 0 or not output:
        lines.append(status_line(res, timeout_s))
    info: dict[str, Any] = {"duration_s": round(res.duration_s, 3)}
    if res.timed_out:
        info["timed_out"] = True
    info.update(meta or {})
    return ToolResult(
        output="\n".join(lines),
        exit_code=None if res.timed_out else res.exit_code,
        truncated=truncated or res.truncated,
        edited=edited or [],
        meta=info,
    )
