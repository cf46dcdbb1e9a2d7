"""run_tests: the repository's test suite (configured or detected), on a snapshot."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult, ToolsConfig
from .detect import Detected, detect_tests
from .outcomes import formats_for
from .outcomes.run import exec_with_outcomes
from .text import command_result

#: pytest's summary line: "=== 2 failed, 5 passed, 1 error in 0.32s ===".
PYTEST_SUMMARY = re.compile(r"^=*\s*(?P<counts>(?:\d+ \w+,? ?)+) in [\d.]+s")
PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped)")


class RunTestsArgs(ToolArgs):
    target: str | None = Field(
        None,
        description="Narrow the run: a test file or node id (pytest: 'tests/test_a.py::"
        "test_x'), a cargo test name, or a go package ('./pkg/...').",
    )
    timeout_s: float | None = Field(None, gt=0, description="Seconds before it is killed.")


def project_root(ctx: ToolContext) -> Path:
    """The host directory the command will see: the snapshot's when there is one."""
    snap = ctx.snapshot
    if snap is not None and snap.host_path is not None:
        return snap.host_path
    return ctx.workspace.root


def tests_command(ctx: ToolContext) -> Detected:
    if ctx.config.test_command:
        return Detected("configured", ctx.config.test_command)
    found = detect_tests(project_root(ctx))
    if found is None:
        raise ToolError(
            "no test command found (looked for pytest or unittest tests, a package.json "
            "test script, Cargo.toml, go.mod and a Makefile test target); set "
            "test_command under [tools] in asyncfc.toml, or run the tests with the run tool"
        )
    return found


def pytest_counts(output: str) -> dict[str, int]:
    """passed/failed/errors/skipped from pytest's last summary line ({} when there is none)."""
    for line in reversed(output.splitlines()[-5:]):
        m = PYTEST_SUMMARY.match(line.strip())
        if m:
            counts = {
                ("errors" if word.startswith("error") else word): int(n)
                for n, word in PYTEST_COUNT.findall(m["counts"])
            }
            return {k: counts.get(k, 0) for k in ("passed", "failed", "errors", "skipped")}
    return {}


class RunTests(Tool[RunTestsArgs]):
    name = "run_tests"
    description = (
        "Run the repository's test suite (the configured command, or detected: pytest, "
        "unittest, npm, cargo, go, make) on a snapshot of the workspace taken when the "
        "call is made. While it runs, the counts so far and the first failures are "
        "reported (pytest, go, cargo, jest); the result starts with the failures, then "
        "the end of the output and the exit code."
    )
    Args = RunTestsArgs
    default_timeout_s = ToolsConfig.command_timeout_s

    def effects(self, args: RunTestsArgs) -> Effects:
        return Effects.snapshot_reader()

    async def run(self, ctx: ToolContext, args: RunTestsArgs) -> ToolResult:
        found = tests_command(ctx)
        command = found.narrowed(args.target)
        if found.kind == "go":  # its JSON events are read as they come, its text shown
            command = command.replace("go test", "go test -json", 1)
        elif found.kind == "unittest":  # a line per test as it ends
            verbose = "unittest discover" if "unittest discover" in command else "-m unittest"
            command = command.replace(verbose, f"{verbose} -v", 1)
        formats = formats_for(command, found.kind)
        return await run_project_command(ctx, found, command, args.timeout_s, formats)


async def run_project_command(
    ctx: ToolContext,
    found: Detected,
    command: str,
    timeout_s: float | None,
    formats: tuple[str, ...] = (),
) -> ToolResult:
    """Run a test or build command; its output is capped keeping the end, where the
    summary is. With outcome ``formats`` (a test run), its outcomes are reported as they
    come and the result starts with its failures."""
    timeout_s = timeout_s or ctx.config.command_timeout_s
    meta: dict[str, object] = {"command": command, "kind": found.kind}
    if not formats:
        res = await ctx.exec(command, timeout_s=timeout_s)
        return command_result(
            res, limit=ctx.config.output_limit, keep="tail", timeout_s=timeout_s, meta=meta
        )
    run = await exec_with_outcomes(ctx, command, formats, timeout_s=timeout_s)
    meta.update(run.meta() or pytest_counts(run.res.output))
    limit = ctx.config.output_limit
    return command_result(run.result(limit), limit=limit, keep="tail", timeout_s=timeout_s, meta=meta)
