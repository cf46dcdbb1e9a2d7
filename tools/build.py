"""build: the repository's build (configured or detected), on a snapshot."""

from __future__ import annotations

from pydantic import Field

from .base import Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult, ToolsConfig
from .detect import Detected, detect_build
from .run_tests import project_root, run_project_command


class BuildArgs(ToolArgs):
    timeout_s: float | None = Field(None, gt=0, description="Seconds before it is killed.")


def build_command(ctx: ToolContext) -> Detected:
    if ctx.config.build_command:
        return Detected("configured", ctx.config.build_command)
    found = detect_build(project_root(ctx))
    if found is None:
        raise ToolError(
            "no build command found (looked for a Makefile, Cargo.toml, go.mod, a "
            "package.json build script and a Python project); set build_command under "
            "[tools] in asyncfc.toml, or build with the run tool"
        )
    return found


class Build(Tool[BuildArgs]):
    name = "build"
    description = (
        "Build the repository (the configured command, or detected: make, cargo build, "
        "go build, npm run build, python compileall) on a snapshot of the workspace taken "
        "when the call is made. Returns the end of the output and the exit code."
    )
    Args = BuildArgs
    default_timeout_s = ToolsConfig.command_timeout_s

    def effects(self, args: BuildArgs) -> Effects:
        return Effects.snapshot_reader()

    async def run(self, ctx: ToolContext, args: BuildArgs) -> ToolResult:
        found = build_command(ctx)
        return await run_project_command(ctx, found, found.command, args.timeout_s)
