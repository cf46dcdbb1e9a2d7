"""A session's MCP servers: started together, each within its own timeout, their tools
offered to the model, and all of them closed at the end.

A server that does not start is reported once (an ``mcp_server`` event and a warning) and
left out; the run goes on without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import McpServerConfig
from .connection import McpConnection
from .tool import McpTool, name_prefix, tool_name

if TYPE_CHECKING:
    from ..agent.events import EventBus
    from ..sandboxes.base import Sandbox
    from ..tools.base import Tool


#: Characters of a server's instructions given to the model at most.
MAX_INSTRUCTIONS = 4000


class McpServers:
    def __init__(self, configs: dict[str, McpServerConfig], *, workdir: Path,
                 bus: EventBus | None = None) -> None:
        self.connections = {name: McpConnection(cfg, workdir=workdir) for name, cfg in configs.items()}
        self.bus = bus
        self._tools: dict[str, McpTool] = {}
        self._unreported: list[McpConnection] = []

    def in_sandbox(self, sandbox: Sandbox | None) -> list[McpConnection]:
        """The servers that run in the (Docker) sandbox, so start after it."""
        if sandbox is None or sandbox.kind != "docker":
            return []
        return [c for c in self.connections.values() if c.config.sandbox]

    async def start(self, sandbox: Sandbox | None = None, *, phase: str = "all") -> None:
        """Start the servers of ``phase`` ("host": those that need no sandbox, "sandbox":
        the others, "all") at once. ``report`` gives each one's outcome."""
        boxed = self.in_sandbox(sandbox)
        if phase == "host":
            chosen = [c for c in self.connections.values() if c not in boxed]
        elif phase == "sandbox":
            chosen = boxed
        else:
            chosen = list(self.connections.values())
        for conn in chosen:
            conn.sandbox = sandbox
        await asyncio.gather(*(c.start() for c in chosen))
        self._name_tools()
        self._unreported += chosen

    def report(self) -> None:
        """Publish how the servers started since the last report went, once each: an
        ``mcp_server`` event for every server, a warning for each one left out, and one
        line for those running (the live view shows only the latest notices)."""
        chosen, self._unreported = self._unreported, []
        if self.bus is None or not chosen:
            return
        from ..agent.events import McpServerReport, Notice

        running = []
        for conn in chosen:
            names = [t.name for t in self.tools_of(conn)]
            self.bus.publish(McpServerReport(conn.name, conn.status, conn.config.transport, names,
                                             conn.reason, round(conn.started_s, 3)))
            if conn.status == "running":
                running.append(f"{conn.name} ({len(names)} tools)")
        for conn in chosen:
            if conn.status not in ("running", "disabled"):
                self.bus.publish(Notice("warning", f"MCP server {conn.name} left out "
                                                   f"({conn.status}): {conn.reason}"))
        if running:
            self.bus.publish(Notice("info", "MCP servers running: " + ", ".join(running)))

    def _name_tools(self) -> None:
        taken: set[str] = set()
        tools: dict[str, McpTool] = {}
        for conn in self.connections.values():
            if conn.status != "running":
                continue
            for tool in conn.tools:
                name = tool_name(conn.name, tool.name, taken)
                taken.add(name)
                tools[name] = McpTool(conn, tool, name)
        self._tools = tools

    def tools(self) -> dict[str, Tool[Any]]:
        """The tools of the running servers, by the name the model calls them."""
        return dict(self._tools)

    def tools_of(self, conn: McpConnection) -> list[McpTool]:
        return [t for t in self._tools.values() if t.connection is conn]

    def prompt_section(self) -> str:
        """The running servers' instructions, for the system prompt ("" when none has any);
        each one is also published as an ``instructions_loaded`` event."""
        from ..agent.protocol import inert

        parts = []
        for conn in self.connections.values():
            if conn.status != "running" or not conn.instructions:
                continue
            text, cut = conn.instructions[:MAX_INSTRUCTIONS], len(conn.instructions) > MAX_INSTRUCTIONS
            parts.append(f"MCP server {conn.name} (tools {name_prefix(conn.name)}...):\n{inert(text)}"
                         + ("\n[... cut: the instructions are longer]" if cut else ""))
            if self.bus is not None:
                from ..agent.events import InstructionsLoaded

                self.bus.publish(InstructionsLoaded(f"MCP server {conn.name}", len(conn.instructions),
                                                    cut, text, "system"))
        if not parts:
            return ""
        return ("\n\nInstructions of the MCP servers whose tools you have (from their "
                "servers):\n\n" + "\n\n".join(parts))

    async def close(self) -> None:
        """Stop every server (each within a bounded time), whatever the others do."""
        await asyncio.gather(*(c.close() for c in self.connections.values()),
                             return_exceptions=True)


def describe(servers: Iterable[McpConnection], tools: dict[str, list[McpTool]],
             *, with_tools: bool = True) -> list[str]:
    """Lines for ``mcp list`` and ``/mcp``: each server, how it went, and its tools."""
    lines: list[str] = []
    for conn in servers:
        cfg = conn.config
        source = "repository" if cfg.from_project else "yours"
        head = f"{conn.name}  [{conn.status}]  {cfg.transport}: {cfg.describe()}  ({source}: {cfg.origin})"
        lines.append(head)
        if conn.status == "running":
            own = tools.get(conn.name, [])
            hidden = conn.listed - len(conn.tools)
            effect = "read only" if cfg.read_only else "may write the workspace"
            lines.append(f"    started in {conn.started_s:.1f} s; {len(own)} tool(s), {effect}"
                         + (f"; {hidden} left out by enabled_tools/disabled_tools" if hidden else ""))
            if with_tools:
                for tool in own:
                    first = (tool.description.split("] ", 1)[-1].splitlines() or [""])[0]
                    lines.append(f"    {tool.name}  {first[:100]}")
        elif conn.reason:
            for i, line in enumerate(conn.reason.splitlines()):
                lines.append(("    " if i == 0 else "      ") + line)
    return lines
