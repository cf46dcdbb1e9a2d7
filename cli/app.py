"""The ``asyncfc-agent`` command. Modules of cli/ import only typer and the standard
library at import time, so ``--help`` stays fast; each command imports what it needs."""

from __future__ import annotations

import sys

import typer

from . import batch, bench, ci, doctor, mcp_cmd, nav, repl, report, sandbox, solve

app = typer.Typer(
    name="asyncfc-agent",
    help="A coding agent whose tool calls run as futures while the model keeps working.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("solve")(solve.solve)
app.command("demo")(solve.demo)
app.command("batch")(batch.batch)
app.command("bench")(bench.bench)
app.command("repl")(repl.repl)
app.command("ci")(ci.ci)
app.command("map")(nav.map_command)
app.command("outline")(nav.outline_command)
app.command("report")(report.report)
app.command("doctor")(doctor.doctor)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(mcp_cmd.app, name="mcp")


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """With no command: the REPL in a terminal, the help anywhere else (a pipe, a script)."""
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            repl.repl()
        typer.echo(ctx.get_help())


def main() -> None:
    app()
