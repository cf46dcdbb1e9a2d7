"""grep: regex search in the sandbox, with ripgrep where it is installed and grep otherwise."""

from __future__ import annotations

import shlex

from pydantic import Field

from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from .text import cap_head, clip_line, locate, missing, plural, shown
from .workspace import IGNORED_DIRS

#: Characters of one matching line shown at most.
LINE_WIDTH = 400


class GrepArgs(ToolArgs):
    pattern: str = Field(description="Regular expression to search for.")
    path: str = Field(".", description="File or directory relative to the repository root.")
    glob: str | None = Field(None, description="Only files whose name matches, e.g. '*.py'.")
    ignore_case: bool = False
    max_count: int | None = Field(None, ge=1, description="At most this many matches per file.")


def rg_command(args: GrepArgs) -> str:
    # --hidden and the ignored dirs as negative globs: dotfiles such as .github are
    # searched, as grep would, while .git, venvs and caches are not.
    parts = ["rg", "--line-number", "--with-filename", "--no-heading", "--color=never", "--hidden"]
    parts += [f"--glob=!{d}" for d in sorted(IGNORED_DIRS)]
    if args.glob:
        parts.append(f"--glob={args.glob}")
    parts += _common_flags(args)
    return " ".join(shlex.quote(p) for p in parts)


def grep_command(args: GrepArgs, flavour: str) -> str:
    parts = ["grep", "-r", "-n", "-H", "-I", flavour, "--color=never"]
    parts += [f"--exclude-dir={d}" for d in sorted(IGNORED_DIRS)]
    if args.glob:
        parts.append(f"--include={args.glob}")
    parts += _common_flags(args)
    return " ".join(shlex.quote(p) for p in parts)


def _common_flags(args: GrepArgs) -> list[str]:
    flags = ["-i"] if args.ignore_case else []
    if args.max_count is not None:
        flags.append(f"--max-count={args.max_count}")
    return flags


def _operands(args: GrepArgs, target: str) -> str:
    return f" -e {shlex.quote(args.pattern)} -- {shlex.quote(target)}"


def search_command(args: GrepArgs, target: str) -> str:
    """One shell command: rg if present, else GNU grep with Perl regexes (closest to rg's
    syntax), else grep with extended regexes. One exec, no separate probe."""
    ops = _operands(args, target)
    return (
        f"if command -v rg >/dev/null 2>&1; then {rg_command(args)}{ops}; "
        "elif echo | grep -qP '^' 2>/dev/null; "
        f"then {grep_command(args, '-P')}{ops}; "
        f"else {grep_command(args, '-E')}{ops}; fi"
    )


def tidy(output: str) -> list[str]:
    """Output lines as ``path:line:text``, without a ``./`` prefix, each within LINE_WIDTH."""
    return [
        clip_line(line[2:] if line.startswith("./") else line, LINE_WIDTH)
        for line in output.splitlines()
        if line
    ]


class Grep(Tool[GrepArgs]):
    name = "grep"
    description = (
        "Search file contents with a regular expression (ripgrep syntax). Prints matching "
        "lines as path:line:text. Skips binary files, .git, node_modules, caches and venvs."
    )
    Args = GrepArgs
    default_timeout_s = 60.0

    def effects(self, args: GrepArgs) -> Effects:
        return Effects.read(args.path)

    async def run(self, ctx: ToolContext, args: GrepArgs) -> ToolResult:
        rel, st = locate(ctx.workspace, args.path)
        if st is None:
            raise missing(ctx.workspace, rel, "file or directory")
        res = await ctx.exec(search_command(args, shown(rel)), timeout_s=self.default_timeout_s)
        where = f"/{args.pattern}/ in {shown(rel)}"
        if res.timed_out:
            raise ToolError(
                f"grep for {where} timed out after {self.default_timeout_s:g} s; "
                "narrow it with path or glob"
            )
        if res.exit_code == 1:
            return ToolResult(output=f"no matches for {where}", meta={"matches": 0})
        lines = tidy(res.output)
        if res.exit_code != 0 and not any(_is_match(line) for line in lines):
            raise ToolError(f"grep for {where} failed: {res.output.strip()}")
        return self._render(lines, ctx.config.output_limit, res.truncated)

    @staticmethod
    def _render(lines: list[str], limit: int, cut_by_sandbox: bool) -> ToolResult:
        matches = sum(1 for line in lines if _is_match(line))
        out, truncated = cap_head("\n".join(lines), limit)
        shown_matches = sum(1 for line in out.splitlines() if _is_match(line))
        if truncated or cut_by_sandbox:
            left = matches - shown_matches
            more = "more matches" if cut_by_sandbox else plural(left, "more match", "more matches")
            out += f"\n[... {more} not shown; narrow the search with path, glob or max_count]"
        files = {line.split(":", 1)[0] for line in lines if _is_match(line)}
        meta = {"matches": matches, "files": len(files)}
        return ToolResult(output=out, truncated=truncated or cut_by_sandbox, meta=meta)


def _is_match(line: str) -> bool:
    """A ``path:line:text`` line, not an error message of the search tool."""
    path, sep, rest = line.partition(":")
    number, sep2, _ = rest.partition(":")
    return bool(sep and sep2 and path and number.isdigit())
