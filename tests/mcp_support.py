"""Helpers of the MCP tests: the test server, its configuration, an executor that offers
the servers' tools."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from asyncfc_agent.agent.events import Event, EventBus
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.mcp_servers.config import McpServerConfig
from asyncfc_agent.mcp_servers.manager import McpServers
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.base import ToolsConfig
from asyncfc_agent.tools.workspace import Workspace

SERVER = Path(__file__).parent / "mcp" / "servers" / "tools_server.py"


def stdio_config(name: str, markers: Path, **extra: Any) -> McpServerConfig:
    extra.setdefault("origin", "test")
    return McpServerConfig(name=name, command=sys.executable, args=[str(SERVER)],
                           env={"MARKERS": str(markers)}, **extra)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Run:
    """An executor whose tools include the MCP servers' tools, on a local sandbox."""

    def __init__(self, root: Path, ex: Executor, servers: McpServers, events: list[Event]) -> None:
        self.root, self.ex, self.servers, self.events = root, ex, servers, events

    def submit(self, tool: str, **args: Any) -> Any:
        return self.ex.submit(tool, args, call_id=f"c{len(self.ex.futures)}", turn=1)

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


async def open_run(tmp_path: Path, configs: dict[str, McpServerConfig],
                   **executor: Any) -> AsyncIterator[Run]:
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    (root / "a.txt").write_text("alpha\n")
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    servers = McpServers(configs, workdir=root, bus=bus)
    async with LocalSandbox(root, snapshot_root=tmp_path / "snaps") as sandbox:
        await servers.start(sandbox)
        servers.report()
        try:
            ex = Executor(
                tools={**load_tools(["read_file", "edit_file"]), **servers.tools()},
                sandbox=sandbox, workspace=Workspace(root), bus=bus,
                config=ExecutorConfig(max_concurrency=8, output_interval_s=0.01, **executor),
                tools_config=ToolsConfig(command_timeout_s=30),
            )
            async with ex:
                yield Run(root, ex, servers, events)
        finally:
            await servers.close()
