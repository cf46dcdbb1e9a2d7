"""MCP servers as configured: ``.mcp.json`` at the repository root and ``[mcp_servers.NAME]``
tables of the config files. A server is a command (stdio) or a URL (Streamable HTTP, or
the older HTTP+SSE with ``type = "sse"``).

``.mcp.json`` is the file other agents read::

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "some-mcp-server"], "env": {"K": "v"}},
        "docs":  {"type": "http", "url": "https://example.com/mcp",
                  "headers": {"X-Team": "core"}}}}

The TOML tables take the same keys in snake case, and more: ``bearer_token_env_var``,
``startup_timeout_s``, ``tool_timeout_s``, ``enabled_tools``, ``disabled_tools``,
``read_only``, ``sandbox`` and ``enabled`` (``.mcp.json`` accepts them too). A bad entry is
a ``ConfigError`` naming its key, e.g. ``mcp_servers.files.command: ...``.

A server defined by the repository (its ``.mcp.json`` or ``asyncfc.toml``) is as untrusted
as the repository's code: see ``blocked_reason``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..userconfig import user_config_path

#: The file other agents read, at the repository root.
MCP_JSON = ".mcp.json"
#: Keys of other agents' ``.mcp.json`` entries that mean nothing here, taken and ignored.
FOREIGN_KEYS = frozenset({"autoApprove", "alwaysAllow", "description", "timeout", "transportType"})
#: ``.mcp.json``'s camel-case spellings of our keys.
CAMEL = {"bearerTokenEnvVar": "bearer_token_env_var", "startupTimeoutS": "startup_timeout_s",
         "toolTimeoutS": "tool_timeout_s", "enabledTools": "enabled_tools",
         "disabledTools": "disabled_tools", "readOnly": "read_only"}
TRANSPORTS = {"stdio": "stdio", "http": "http", "streamable-http": "http", "streamable_http": "http",
              "streamableHttp": "http", "sse": "sse"}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class McpConfigError(ValueError):
    """An MCP server entry that cannot be used (``ConfigError`` in the config loader)."""


@dataclass
class McpServerConfig:
    """One MCP server: a command to run (stdio) or a URL to connect to (Streamable HTTP)."""

    name: str
    #: The file that defined it, for messages.
    origin: str = ""
    #: Defined by the repository (its ``.mcp.json`` or ``asyncfc.toml``), not by the user.
    from_project: bool = False
    #: The user trusts this project server (``trust_project`` lists ``mcp_servers``
    #: or ``mcp_servers.NAME``).
    trusted: bool = False
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    #: Where the command runs: relative to the workspace (default: the workspace root).
    cwd: str | None = None
    url: str | None = None
    #: "http" (Streamable HTTP, the default for a url) or "sse" (the older HTTP+SSE).
    url_transport: str = "http"
    headers: dict[str, str] = field(default_factory=dict)
    #: An environment variable whose value is sent as ``Authorization: Bearer ...``.
    bearer_token_env_var: str | None = None
    #: Seconds the server has to start and list its tools.
    startup_timeout_s: float = 30.0
    #: Seconds a call may go without a result or a progress notification.
    tool_timeout_s: float = 600.0
    #: Only these tools are offered (None: all but ``disabled_tools``).
    enabled_tools: list[str] | None = None
    disabled_tools: list[str] = field(default_factory=list)
    #: True: its tools only read (they run beside each other and beside readers);
    #: false (the default): each call may write anywhere in the workspace.
    read_only: bool = False
    #: Run the (stdio) server inside the sandbox instead of on the host.
    sandbox: bool = False
    enabled: bool = True

    @property
    def transport(self) -> str:
        return self.url_transport if self.url else "stdio"

    def offers(self, tool: str) -> bool:
        if self.enabled_tools is not None and tool not in self.enabled_tools:
            return False
        return tool not in self.disabled_tools

    def blocked_reason(self) -> str | None:
        """Why this server may not start, or None.

        A project's server that would run a command on the host, or connect from the host
        (sending whatever token its entry names), starts only when the user trusts it; in
        the sandbox it needs no trust, as the sandbox is the boundary.
        """
        if not self.from_project or self.trusted or (self.transport == "stdio" and self.sandbox):
            return None
        what = "runs a command on the host" if self.transport == "stdio" else "connects from the host"
        return (f"defined by the repository ({self.origin}), which is as untrusted as its code, "
                f"and {what}; to allow it, add \"mcp_servers.{self.name}\" (or \"mcp_servers\" "
                f"for all of them) to trust_project in your own config file ({user_config_path()}), or run it in the "
                f"sandbox (sandbox = true)")

    def describe(self) -> str:
        if self.url:
            return self.url
        where = " (in the sandbox)" if self.sandbox else ""
        return " ".join([self.command or "", *self.args]) + where


def expand(value: str, environ: dict[str, str] | None = None) -> str:
    """``${VAR}`` and ``${VAR:-default}`` replaced from the environment (as other agents do)."""
    env = os.environ if environ is None else environ

    def one(m: re.Match[str]) -> str:
        found = env.get(m.group(1))
        if found is None or (found == "" and m.group(2) is not None):
            if m.group(2) is not None:
                return m.group(2)
            raise McpConfigError(f"environment variable {m.group(1)} is not set")
        return found

    return _VAR.sub(one, value)


def parse_table(data: Any, origin: str, *, from_project: bool, prefix: str = "mcp_servers",
                trusted: set[str] | None = None) -> dict[str, McpServerConfig]:
    """The servers of a ``[mcp_servers]`` table (or ``mcpServers`` object), by name."""
    if not isinstance(data, dict):
        raise McpConfigError(f"{prefix} must be a table of servers, one per name")
    found: dict[str, McpServerConfig] = {}
    for name, entry in data.items():
        key = f"{prefix}.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise McpConfigError(f"{key}: a server name is 1 to 64 letters, digits, '_', '-' or '.'")
        if not isinstance(entry, dict):
            raise McpConfigError(f"{key} must be a table (command or url, ...)")
        cfg = McpServerConfig(name=name, origin=origin, from_project=from_project)
        _fill(cfg, entry, key)
        if from_project and trusted is not None:
            cfg.trusted = "mcp_servers" in trusted or f"mcp_servers.{name}" in trusted
        found[name] = cfg
    return found


def read_mcp_json(repo: Path, *, trusted: set[str] | None = None) -> dict[str, McpServerConfig]:
    """The servers of ``repo/.mcp.json`` (none when there is no such file)."""
    path = repo / MCP_JSON
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise McpConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
        raise McpConfigError(f"{path}: mcpServers must be an object of servers, one per name")
    try:
        return parse_table(data.get("mcpServers", {}), str(path), from_project=True,
                           prefix="mcpServers", trusted=trusted)
    except McpConfigError as exc:
        raise McpConfigError(f"{path}: {exc}") from None


def _fill(cfg: McpServerConfig, entry: dict[str, Any], key: str) -> None:
    kind: str | None = None
    for raw_k, value in entry.items():
        k = CAMEL.get(raw_k, raw_k)
        where = f"{key}.{raw_k}"
        if raw_k in FOREIGN_KEYS:
            continue
        if k == "type":
            if value not in TRANSPORTS:
                raise McpConfigError(f"{where}: {value!r} is not a transport this agent speaks "
                                     "(stdio, http or streamable-http, sse)")
            kind = TRANSPORTS[value]
        elif k == "disabled":
            cfg.enabled = not _bool(value, where)
        elif k in ("command", "cwd", "url", "bearer_token_env_var"):
            if not isinstance(value, str) or not value.strip():
                raise McpConfigError(f"{where} must be a non-empty string")
            setattr(cfg, k, value)
        elif k == "args":
            cfg.args = _strings(value, where)
        elif k in ("enabled_tools", "disabled_tools"):
            setattr(cfg, k, _strings(value, where))
        elif k in ("env", "headers"):
            if not isinstance(value, dict) or not all(
                    isinstance(a, str) and isinstance(b, str) for a, b in value.items()):
                raise McpConfigError(f"{where} must be a table of strings")
            setattr(cfg, k, dict(value))
        elif k in ("startup_timeout_s", "tool_timeout_s"):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise McpConfigError(f"{where} must be a number of seconds above 0")
            setattr(cfg, k, float(value))
        elif k in ("read_only", "sandbox", "enabled"):
            setattr(cfg, k, _bool(value, where))
        else:
            known = "type, command, args, env, cwd, url, headers, " + ", ".join(
                f.name for f in McpServerConfig.__dataclass_fields__.values()
                if f.name not in ("name", "origin", "from_project", "trusted", "command", "args",
                                  "env", "cwd", "url", "url_transport", "headers"))
            raise McpConfigError(f"{where}: unknown key (known: {known})")
    _check(cfg, key, kind)


def _check(cfg: McpServerConfig, key: str, kind: str | None) -> None:
    if cfg.command and cfg.url:
        raise McpConfigError(f"{key}: give command (a stdio server) or url (an HTTP server), not both")
    if not cfg.command and not cfg.url:
        raise McpConfigError(f"{key}.command: missing (or url, for an HTTP server)")
    if kind == "stdio" and not cfg.command:
        raise McpConfigError(f"{key}.command: missing (type is stdio)")
    if kind in ("http", "sse") and not cfg.url:
        raise McpConfigError(f"{key}.url: missing (type is {kind})")
    if kind == "sse":
        cfg.url_transport = "sse"
    if cfg.url and not re.match(r"^https?://", cfg.url):
        raise McpConfigError(f"{key}.url: {cfg.url!r} is not an http:// or https:// URL")
    if cfg.url and cfg.sandbox:
        raise McpConfigError(f"{key}.sandbox: only a stdio server (command) runs in the sandbox")
    if cfg.bearer_token_env_var and not cfg.url:
        raise McpConfigError(f"{key}.bearer_token_env_var: only an HTTP server (url) takes a token")


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise McpConfigError(f"{where} must be true or false")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise McpConfigError(f"{where} must be a list of strings")
    return list(value)
