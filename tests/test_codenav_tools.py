"""outline, find_symbol and repo_map through their ``run(ctx, args)``, and the ``map`` and
``outline`` commands."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.cli.app import app
from asyncfc_agent.codenav import default_cache_dir
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools import repo_map as repo_map_tool
from asyncfc_agent.tools.base import Effects, ToolContext, ToolError, ToolsConfig
from asyncfc_agent.tools.find_symbol import FindSymbol, FindSymbolArgs
from asyncfc_agent.tools.outline import Outline, OutlineArgs
from asyncfc_agent.tools.repo_map import RepoMap, RepoMapArgs
from asyncfc_agent.tools.workspace import Workspace
from typer.testing import CliRunner

FIXTURES = Path(__file__).parent / "fixtures" / "codenav"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "repo", root)
    return root


@pytest.fixture
async def ctx(repo: Path) -> AsyncIterator[ToolContext]:
    async with LocalSandbox(repo) as sandbox:
        yield ToolContext(sandbox, Workspace(repo), ToolsConfig())


def test_the_registry_loads_the_three_tools() -> None:
    tools = load_tools(["outline", "find_symbol", "repo_map"])
    assert [type(t) for t in tools.values()] == [Outline, FindSymbol, RepoMap]
    schema = tools["repo_map"].schema()["function"]
    assert set(schema["parameters"]["properties"]) == {"focus", "max_tokens"}


def test_effects() -> None:
    assert Outline().effects(OutlineArgs(path="./src/a.py")) == Effects.read("src/a.py")
    assert FindSymbol().effects(FindSymbolArgs(name="f")) == Effects.read("")
    assert FindSymbol().effects(FindSymbolArgs(name="f", path="src")) == Effects.read("src")
    assert RepoMap().effects(RepoMapArgs(focus=["a.py"])) == Effects.read("")


async def test_outline(ctx: ToolContext) -> None:
    result = await Outline().run(ctx, OutlineArgs(path="shapes.go"))
    assert result.output.splitlines()[:4] == [
        "shapes.go (go, 9 definitions)",
        '    7-7 const Unit = "cm"',
        "    9-9 var registry = map[string]Shape{}",
        "  12-14 type Shape interface",
    ]
    assert not result.truncated


async def test_outline_errors_the_model_can_act_on(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"shapes\.gox: no such file; did you mean shapes\.go"):
        await Outline().run(ctx, OutlineArgs(path="shapes.gox"))
    (ctx.workspace.root / "notes.md").write_text("# notes\n")
    with pytest.raises(ToolError, match=r"notes\.md: unsupported language"):
        await Outline().run(ctx, OutlineArgs(path="notes.md"))
    with pytest.raises(ToolError, match="outside the repository"):
        await Outline().run(ctx, OutlineArgs(path="../etc/passwd"))


async def test_find_symbol(ctx: ToolContext) -> None:
    result = await FindSymbol().run(ctx, FindSymbolArgs(name="TotalArea"))
    assert result.output.splitlines() == [
        "definitions of TotalArea (1):",
        "  shapes.go:37-43  func TotalArea(shapes []Shape) float64",
        "references to TotalArea (0 in 0 files):",
        "  (none found)",
    ]


async def test_find_symbol_within_a_path_and_its_errors(ctx: ToolContext) -> None:
    result = await FindSymbol().run(ctx, FindSymbolArgs(name="area", path="geometry.py"))
    assert all(line.startswith(("  geometry.py:", "definitions", "references"))
               for line in result.output.splitlines())
    with pytest.raises(ToolError, match="lib: no such file or directory"):
        await FindSymbol().run(ctx, FindSymbolArgs(name="area", path="lib"))


async def test_repo_map_within_budget_with_a_summary(ctx: ToolContext) -> None:
    result = await RepoMap().run(ctx, RepoMapArgs(focus=["render.js"], max_tokens=200))
    text, summary = result.output.rsplit("\n", 1)
    assert text.startswith("render.js:\n")
    assert len(text) <= 200 * 4
    assert summary.startswith("[map: ") and summary.endswith(" tokens]")
    assert result.meta["parsed"] == 7
    again = await RepoMap().run(ctx, RepoMapArgs(focus=["render.js"], max_tokens=200))
    assert (again.output, again.meta["parsed"], again.meta["cached"]) == (result.output, 0, 7)
    assert len(list(default_cache_dir().iterdir())) == 1


async def test_repo_map_notes_unknown_focus_and_empty_repositories(
    ctx: ToolContext, tmp_path: Path
) -> None:
    result = await RepoMap().run(ctx, RepoMapArgs(focus=["docs/guide.md"]))
    assert result.output.endswith(
        "[focus files not indexed (missing, or not source code): docs/guide.md]"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    async with LocalSandbox(empty) as sandbox:
        bare = ToolContext(sandbox, Workspace(empty), ToolsConfig())
        result = await RepoMap().run(bare, RepoMapArgs())
    assert result.output.startswith("no definitions found")


async def test_outputs_are_capped_with_a_note(repo: Path) -> None:
    async with LocalSandbox(repo) as sandbox:
        small = ToolContext(sandbox, Workspace(repo), ToolsConfig(output_limit=300))
        result = await FindSymbol().run(small, FindSymbolArgs(name="Circle"))
    assert result.truncated
    kept, note = result.output.rsplit("\n", 1)
    assert len(kept) <= 300
    assert note.startswith("[... output truncated:")


async def test_the_map_is_built_off_the_event_loop(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The map waits for the loop to let it go: built on the loop, it would wait for good.
    # (How long a cold map takes is a figure of the codenav benchmark.)
    build = repo_map_tool.repo_map
    loop_ran = threading.Event()

    def held_build(*args: Any, **kwargs: Any) -> Any:
        assert loop_ran.wait(60), "the event loop did not run while the map was built"
        return build(*args, **kwargs)

    monkeypatch.setattr(repo_map_tool, "repo_map", held_build)
    mapping = asyncio.create_task(RepoMap().run(ctx, RepoMapArgs()))
    await asyncio.sleep(0)  # the map starts; the loop runs again only if it is not built on it
    loop_ran.set()
    result = await mapping
    assert result.meta["parsed"] == 7 and result.output.endswith(" tokens]")


# --- the command line ----------------------------------------------------------------------


def test_cli_map_prints_the_golden_map() -> None:
    result = CliRunner().invoke(app, ["map", "--repo", str(FIXTURES / "repo"), "--tokens", "256",
                                      "--focus", "widget.tsx"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (FIXTURES / "golden_map.txt").read_text()
    assert "28 of 75 definitions" in result.stderr


def test_cli_map_focus_from_here_or_from_the_repository(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo.parent)
    from_here = CliRunner().invoke(app, ["map", "--repo", "repo", "--focus", "repo/shapes.go"])
    from_root = CliRunner().invoke(app, ["map", "--repo", "repo", "--focus", "shapes.go"])
    assert from_here.exit_code == from_root.exit_code == 0
    assert from_here.stdout == from_root.stdout
    assert from_here.stdout.startswith("shapes.go:\n")


def test_cli_map_errors(repo: Path, tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["map", "--repo", str(repo), "--focus", "nope.py"])
    assert (missing.exit_code, missing.stderr) == (2, "error: nope.py: no such file\n")
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    result = CliRunner().invoke(app, ["map", "--repo", str(repo), "--focus", str(outside)])
    assert result.exit_code == 2
    assert "is outside the repository" in result.stderr
    not_dir = CliRunner().invoke(app, ["map", "--repo", str(repo / "shapes.go")])
    assert (not_dir.exit_code, not_dir.stderr) == (2, f"error: {repo / 'shapes.go'} is not a directory\n")
    (repo / "notes.md").write_text("# notes\n")
    warned = CliRunner().invoke(app, ["map", "--repo", str(repo), "--focus", str(repo / "notes.md")])
    assert warned.exit_code == 0
    assert "warning: notes.md is not a source file the map reads" in warned.stderr


def test_cli_outline(repo: Path) -> None:
    result = CliRunner().invoke(app, ["outline", str(repo / "widget.tsx")])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == [
        "    3-5 interface Props",
        "    7-9 function ShapeList({ shapes }: Props)",
        "  11-11 const TotalBadge = ({ shapes }: Props) =>",
        "  13-17 class Legend extends Circle",
        "  14-16   label(): string",
    ]


def test_cli_outline_errors(repo: Path) -> None:
    missing = CliRunner().invoke(app, ["outline", str(repo / "nope.py")])
    assert (missing.exit_code, missing.stderr) == (2, f"error: {repo / 'nope.py'}: no such file\n")
    (repo / "build.gradle").write_text("plugins {}\n")
    result = CliRunner().invoke(app, ["outline", str(repo / "build.gradle")])
    assert result.exit_code == 2
    assert "build.gradle: unsupported language (supported: .cjs," in result.stderr
