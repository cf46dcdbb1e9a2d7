"""run, run_tests and build as real processes in the local sandbox."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools.base import Effects, ToolContext, ToolError, ToolResult, ToolsConfig
from asyncfc_agent.tools.build import Build, BuildArgs
from asyncfc_agent.tools.run import Run, RunArgs
from asyncfc_agent.tools.run_tests import RunTests, RunTestsArgs, pytest_counts
from asyncfc_agent.tools.workspace import Workspace
from support import alive, pids_written, until


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[ToolContext]:
    repo = tmp_path / "repo"
    repo.mkdir()
    # the suites under test are tiny: plugins of this environment would only slow them
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    async with LocalSandbox(repo, env=env) as sandbox:
        yield ToolContext(sandbox, Workspace(repo), ToolsConfig(output_limit=1_000))


def put(ctx: ToolContext, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = ctx.workspace.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


async def run(ctx: ToolContext, command: str, **kwargs: object) -> ToolResult:
    args = RunArgs.model_validate({"command": command, **kwargs})
    result: ToolResult = await Run().run(ctx, args)
    return result


async def run_tests(ctx: ToolContext, target: str | None = None) -> ToolResult:
    result: ToolResult = await RunTests().run(ctx, RunTestsArgs(target=target))
    return result


# --- run -------------------------------------------------------------------------------


async def test_run_returns_output_and_streams_it(ctx: ToolContext) -> None:
    streamed: list[str] = []
    ctx.emit = streamed.append
    result = await run(ctx, "echo hello; echo to-stderr >&2")
    assert result.output == "hello\nto-stderr"
    assert (result.exit_code, result.ok, result.edited) == (0, True, [])
    assert "".join(streamed) == "hello\nto-stderr\n"


async def test_run_reports_a_failure_with_a_status_line(ctx: ToolContext) -> None:
    result = await run(ctx, "echo oops; exit 3")
    assert result.exit_code == 3 and not result.ok
    lines = result.output.splitlines()
    assert lines[0] == "oops"
    assert lines[1].startswith("[exit 3 in ") and lines[1].endswith(" s]")
    silent = await run(ctx, "true")
    assert silent.output.startswith("[exit 0 in ")


async def test_run_timeout_kills_the_command_and_keeps_partial_output(ctx: ToolContext) -> None:
    pidfile = ctx.workspace.root.parent / "child.pid"
    result = await run(
        ctx, f"sleep 300 & echo $! > {pidfile}; echo started; sleep 300; echo never", timeout_s=2
    )
    assert result.exit_code is None and not result.ok
    assert result.meta["timed_out"] is True
    assert result.output == (
        "started\n[timed out after 2 s: the command was killed; output so far is above]"
    )
    (child,) = await pids_written(pidfile, timeout_s=0)  # written before "started"
    await until(lambda: not alive(child), "the timed-out command's child to end")


async def test_run_reports_the_files_it_changed(ctx: ToolContext) -> None:
    put(ctx, {"old.txt": "x\n", "keep.txt": "a\n", "same.txt": "s\n"})
    result = await run(
        ctx, "mkdir -p out && echo x > out/new.txt && rm old.txt && echo b >> keep.txt"
        " && mkdir -p .git && echo y > .git/ignored"
    )
    assert result.edited == ["keep.txt", "old.txt", "out/new.txt"]
    changed, status = result.output.splitlines()
    assert changed == "[changed 3 files: keep.txt, old.txt, out/new.txt]"
    assert re.fullmatch(r"\[exit 0 in \d+\.\d+ s\]", status), status


async def test_run_readonly_runs_on_the_snapshot(ctx: ToolContext) -> None:
    put(ctx, {"a.txt": "before\n"})
    ctx.snapshot = await ctx.sandbox.snapshot(0)
    (ctx.workspace.root / "a.txt").write_text("after\n")
    result = await run(ctx, "cat a.txt; echo junk > b.txt; pwd", readonly=True)
    assert result.output.splitlines() == ["before", str(ctx.workspace.root)]
    assert result.edited == []
    assert not (ctx.workspace.root / "b.txt").exists()
    assert Run().effects(RunArgs(command="ls", readonly=True)) == Effects.snapshot_reader()
    assert Run().effects(RunArgs(command="make")) == Effects.whole_writer()


async def test_run_caps_output_and_says_so(ctx: ToolContext) -> None:
    result = await run(ctx, "seq 1 20000")
    assert result.truncated
    assert len(result.output) < 1_100
    assert result.output.startswith("1\n2\n")
    assert result.output.endswith("19999\n20000")
    assert "characters cut" in result.output


# --- run_tests -------------------------------------------------------------------------

PYTEST_REPO = {
    "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n",
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": (
        "from calc import add\n\n"
        "def test_add():\n    assert add(2, 2) == 4\n\n"
        "def test_broken():\n    assert add(1, 1) == 3\n"
    ),
    "conftest.py": "",
}


async def test_run_tests_runs_pytest_and_counts(ctx: ToolContext) -> None:
    put(ctx, PYTEST_REPO)
    result = await run_tests(ctx)
    assert result.exit_code == 1 and not result.ok
    assert result.meta["command"] == "python3 -m pytest -q"
    assert {k: result.meta[k] for k in ("passed", "failed", "errors")} == {
        "passed": 1, "failed": 1, "errors": 0,
    }
    assert "1 failed, 1 passed" in result.output.splitlines()[-2]
    assert result.output.splitlines()[-1].startswith("[exit 1 in ")


async def test_run_tests_target_narrows_the_run(ctx: ToolContext) -> None:
    put(ctx, PYTEST_REPO)
    result = await run_tests(ctx, "tests/test_calc.py::test_add")
    assert result.ok and result.exit_code == 0
    assert result.meta["command"] == "python3 -m pytest -q tests/test_calc.py::test_add"
    assert (result.meta["passed"], result.meta["failed"]) == (1, 0)


async def test_run_tests_sees_the_snapshot_not_later_edits(ctx: ToolContext) -> None:
    put(ctx, PYTEST_REPO)
    ctx.snapshot = await ctx.sandbox.snapshot(0)
    (ctx.workspace.root / "calc.py").write_text("def add(a, b):\n    return 0\n")
    result = await run_tests(ctx, "tests/test_calc.py::test_add")
    assert result.ok, result.output
    assert str(ctx.snapshot.path) not in result.output


async def test_run_tests_runs_unittest(ctx: ToolContext) -> None:
    put(ctx, {
        "test_strings.py": (
            "import unittest\n\n"
            "class T(unittest.TestCase):\n"
            "    def test_upper(self):\n        self.assertEqual('a'.upper(), 'A')\n"
        ),
    })
    result = await run_tests(ctx)
    assert result.meta["command"] == "python3 -m unittest -v"  # a line per test as it ends
    assert result.ok, result.output
    assert "Ran 1 test" in result.output
    assert result.meta["tests"]["passed"] == 1 and result.meta["tests"]["final"]
    narrowed = await run_tests(ctx, "test_strings.T.test_upper")
    assert narrowed.ok
    assert narrowed.meta["command"] == "python3 -m unittest -v test_strings.T.test_upper"


async def test_run_tests_uses_the_configured_command_and_keeps_the_tail(
    ctx: ToolContext,
) -> None:
    ctx.config.test_command = "seq 1 5000; echo"
    result = await run_tests(ctx, "SUMMARY")
    assert result.meta == {"command": "seq 1 5000; echo SUMMARY", "kind": "configured",
                           "duration_s": result.meta["duration_s"]}
    assert result.truncated
    assert result.output.startswith("[... output truncated: the first ")
    assert result.output.endswith("4999\n5000\nSUMMARY")


async def test_run_tests_without_a_test_command_says_how_to_configure_one(
    ctx: ToolContext,
) -> None:
    put(ctx, {"README.md": "nothing to test\n"})
    with pytest.raises(ToolError, match=r"test_command under \[tools\] in asyncfc\.toml"):
        await run_tests(ctx)


def test_pytest_counts() -> None:
    assert pytest_counts("x\n===== 2 failed, 5 passed, 1 error, 3 warnings in 0.32s =====\n") == {
        "passed": 5, "failed": 2, "errors": 1, "skipped": 0,
    }
    assert pytest_counts("3 passed, 1 skipped in 1.20s (0:00:01)") == {
        "passed": 3, "failed": 0, "errors": 0, "skipped": 1,
    }
    assert pytest_counts("no tests ran in 0.01s") == {}


# --- build -----------------------------------------------------------------------------


async def test_build_compiles_a_python_project(ctx: ToolContext) -> None:
    put(ctx, {"pyproject.toml": "[project]\nname = 'x'\n", "pkg/ok.py": "x = 1\n"})
    build = Build()
    assert build.effects(BuildArgs()) == Effects.snapshot_reader()
    ok = await build.run(ctx, BuildArgs())
    assert ok.ok and ok.meta["kind"] == "python"
    put(ctx, {"pkg/bad.py": "def f(:\n"})
    broken = await build.run(ctx, BuildArgs())
    assert broken.exit_code == 1
    assert "pkg/bad.py" in broken.output and "SyntaxError" in broken.output


async def test_build_configured_and_missing(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"build_command under \[tools\]"):
        await Build().run(ctx, BuildArgs())
    ctx.config.build_command = "echo built"
    result = await Build().run(ctx, BuildArgs(timeout_s=5))
    assert (result.output, result.meta["command"]) == ("built", "echo built")
