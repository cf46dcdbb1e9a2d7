"""``mcp list``: the configured MCP servers, whether they start, and their tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(help="MCP tool servers: what is configured, and whether it starts.",
                  no_args_is_help=True)


@app.command("list")
def list_servers(
    repo: Annotated[Path, typer.Option("--repo", help="The repository whose servers to list.")] = Path("."),
    config_file: Annotated[Optional[Path], typer.Option("--config", help="An extra config file (read last).")] = None,  # noqa: UP045
    tools: Annotated[bool, typer.Option("--tools/--no-tools", help="List each server's tools.")] = True,
) -> None:
    """Start each configured server (as a session would, in the repository), list its
    tools, and stop it. Exit 1 when one that should start does not."""
    import asyncio

    from ..agent.config import ConfigError, load_config
    from ..mcp_servers.manager import McpServers, describe
    from .sanitize import sanitize

    root = repo.resolve()
    try:
        cfg = load_config(root if root.is_dir() else None, config_file)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not cfg.mcp_servers:
        typer.echo("no MCP servers configured (.mcp.json at the repository root, or "
                   "[mcp_servers.NAME] in asyncfc.toml or your config file)")
        return
    servers = McpServers(cfg.mcp_servers, workdir=root)

    async def probe() -> list[str]:
        try:
            await servers.start(None)
            by_server = {c.name: servers.tools_of(c) for c in servers.connections.values()}
            return describe(servers.connections.values(), by_server, with_tools=tools)
        finally:
            await servers.close()

    for line in asyncio.run(probe()):
        typer.echo(sanitize(line))
    failed = [c.name for c in servers.connections.values() if c.status == "failed"]
    if failed:
        typer.echo(f"\ndid not start: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
