"""MCP tool servers: configured in ``.mcp.json`` or ``[mcp_servers.NAME]`` tables, started
with the session, and their tools run as futures like the repository's own."""

from .config import McpServerConfig
from .manager import McpServers

__all__ = ["McpServerConfig", "McpServers"]
