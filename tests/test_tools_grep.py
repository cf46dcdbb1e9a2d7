"""grep through the local sandbox: with ripgrep, and with each grep fallback."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools.base import ToolContext, ToolError, ToolResult, ToolsConfig
from asyncfc_agent.tools.grep import Grep, GrepArgs, search_command
from asyncfc_agent.tools.workspace import Workspace

HAS_RG = shutil.which("rg") is not None
# a grep that lacks -P (busybox, BSD): the search must fall back to -E
NO_PCRE_GREP = f"""#!/bin/sh
for a in "$@"; do [ "$a" = -P ] && exit 2; [ "$a" = -qP ] && exit 2; done
exec {shutil.which("grep")} "$@"
"""

ENGINES = [
    pytest.param("rg", marks=pytest.mark.skipif(not HAS_RG, reason="ripgrep is not installed")),
    "grep -P",
    "grep -E",
]


def bin_without_rg(tmp_path: Path, pcre: bool) -> str:
    """A PATH directory with grep (with or without -P) and no rg."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    if pcre:
        os.symlink(shutil.which("grep") or "/bin/grep", bindir / "grep")
    else:
        (bindir / "grep").write_text(NO_PCRE_GREP)
        (bindir / "grep").chmod(0o755)
    return str(bindir)


@pytest.fixture(params=ENGINES)
async def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ToolContext]:
    repo = tmp_path / "repo"
    for rel, text in FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    (repo / "data.bin").write_bytes(b"\x00\x01def parse_date\x00")
    env = dict(os.environ)
    if request.param != "rg":
        env["PATH"] = bin_without_rg(tmp_path, pcre=request.param == "grep -P")
    async with LocalSandbox(repo, env=env) as sandbox:
        yield ToolContext(sandbox, Workspace(repo), ToolsConfig(output_limit=1_000))


FILES = {
    "src/dates.py": "import re\n\ndef parse_date(s):\n    return None\n\ndef Parse_Date2(s):\n    pass\n",
    "src/util.ts": "export function parseDate() {}\n",
    "tests/test_dates.py": "from src.dates import parse_date\n\ndef test_parse_date():\n    assert parse_date('') is None\n",
    ".github/workflows/ci.yml": "run: pytest  # parse_date\n",
    ".git/config": "parse_date in git internals\n",
    "node_modules/lib/index.js": "parse_date in a dependency\n",
}


async def grep(ctx: ToolContext, **kwargs: object) -> ToolResult:
    result: ToolResult = await Grep().run(ctx, GrepArgs.model_validate(kwargs))
    return result


async def test_matches_as_path_line_text(ctx: ToolContext) -> None:
    result = await grep(ctx, pattern=r"def \w*parse_date")
    assert sorted(result.output.splitlines()) == [
        "src/dates.py:3:def parse_date(s):",
        "tests/test_dates.py:3:def test_parse_date():",
    ]
    assert result.meta == {"matches": 2, "files": 2}
    assert result.ok


async def test_skips_ignored_dirs_and_binaries_but_not_dotfiles(ctx: ToolContext) -> None:
    result = await grep(ctx, pattern="parse_date")
    files = {line.split(":")[0] for line in result.output.splitlines()}
    assert files == {".github/workflows/ci.yml", "src/dates.py", "tests/test_dates.py"}


async def test_path_glob_case_and_max_count(ctx: ToolContext) -> None:
    assert (await grep(ctx, pattern="parse_date", path="tests", max_count=1)).output == (
        "tests/test_dates.py:1:from src.dates import parse_date"
    )
    assert (await grep(ctx, pattern="parse", glob="*.ts", ignore_case=True)).output == (
        "src/util.ts:1:export function parseDate() {}"
    )
    insensitive = await grep(ctx, pattern="def parse_date", path="src/dates.py", ignore_case=True)
    assert insensitive.meta["matches"] == 2


async def test_no_matches_is_a_result_not_an_error(ctx: ToolContext) -> None:
    result = await grep(ctx, pattern="no_such_name", path="src")
    assert result.output == "no matches for /no_such_name/ in src"
    assert result.ok and result.meta["matches"] == 0


async def test_arguments_are_shell_quoted(ctx: ToolContext) -> None:
    marker = ctx.workspace.root / "pwned"
    result = await grep(ctx, pattern="'; touch pwned; echo '", path=".")
    assert result.meta["matches"] == 0
    assert not marker.exists()
    dashes = await grep(ctx, pattern="-x", path="src")
    assert dashes.meta["matches"] == 0


async def test_output_is_capped_with_a_note(ctx: ToolContext) -> None:
    (ctx.workspace.root / "big.txt").write_text("".join(f"hit {i}\n" for i in range(500)))
    result = await grep(ctx, pattern="hit", path="big.txt")
    assert result.truncated
    assert len(result.output) < 1_100
    shown = result.output.splitlines()[:-1]
    assert shown[0] == "big.txt:1:hit 0"
    assert result.output.endswith(
        f"[... {500 - len(shown)} more matches not shown; narrow the search with path, "
        "glob or max_count]"
    )


async def test_errors(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="srcs: no such file or directory; did you mean src"):
        await grep(ctx, pattern="x", path="srcs")
    with pytest.raises(ToolError, match="outside the repository"):
        await grep(ctx, pattern="x", path="../")
    with pytest.raises(ToolError, match=r"grep for /\(/ in \. failed"):
        await grep(ctx, pattern="(")


async def test_with_rg_gitignored_files_are_skipped(tmp_path: Path) -> None:
    if not HAS_RG:
        pytest.skip("ripgrep is not installed")
    repo = tmp_path / "repo"
    (repo / "build").mkdir(parents=True)
    (repo / ".gitignore").write_text("build/\n")
    (repo / ".git").mkdir()  # rg reads .gitignore only inside a git repository
    (repo / "build/out.py").write_text("needle\n")
    (repo / "src.py").write_text("needle\n")
    async with LocalSandbox(repo) as sandbox:
        ctx = ToolContext(sandbox, Workspace(repo), ToolsConfig())
        assert (await grep(ctx, pattern="needle")).output == "src.py:1:needle"


def test_one_command_for_every_engine() -> None:
    command = search_command(GrepArgs(pattern="a'b", glob="*.py", max_count=3), "src dir")
    assert command.startswith("if command -v rg >/dev/null 2>&1; then rg ")
    assert command.count("-e 'a'\"'\"'b' -- 'src dir'") == 3
    assert "'--include=*.py'" in command and "'--glob=*.py'" in command
    assert "--exclude-dir=node_modules" in command and "'--glob=!node_modules'" in command
