"""One MCP server, connected: started (a process, or an HTTP session), its tools listed,
its tools called, and closed.

The connection lives in a task of its own, inside one cancel scope: the ``mcp`` client is
built on anyio task groups, which must be entered and left by the same task. Calls come
from the futures' tasks; cancelling one sends the server MCP's cancellation (a
``notifications/cancelled``, or on the 2026 HTTP wire the request's stream closed). A
tool the server runs as an MCP task is called through ``tasks`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from ..userconfig import user_config_path
from .config import McpConfigError, McpServerConfig, expand
from .tasks import StatusFn, call_as_task, runs_as_task

if TYPE_CHECKING:
    import mcp_types

    from ..sandboxes.base import Sandbox

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]
#: Bytes of a server's stderr kept (the tail), for the reason it failed.
STDERR_TAIL = 4096
#: What the docker command needs to find the engine and its credentials.
DOCKER_ENV = frozenset({"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH",
                        "DOCKER_TLS_VERIFY"})
#: Pages of a tools/list walk at most.
MAX_PAGES = 100


def quiet_sdk_logs() -> None:
    """The mcp package logs a server's failures itself; with no handler configured,
    logging's last resort would print them to stderr, through the live view. Their
    reasons reach the user in the reports and the failed futures instead."""
    for name in ("mcp", "client"):  # "client": the name of the SDK's session logger
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


class ServerGone(Exception):
    """The server is not running (any more): the reason, for the future it fails."""


class _Tail(asyncio.Protocol):
    """The last bytes a process wrote to a pipe."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ended = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.data += data
        del self.data[:-STDERR_TAIL]

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended.set()


class McpConnection:
    """A configured server and, once ``start`` returned with ``status`` "running", its tools."""

    def __init__(self, config: McpServerConfig, *, workdir: Path,
                 sandbox: Sandbox | None = None) -> None:
        self.config = config
        self.workdir = workdir
        self.sandbox = sandbox
        #: "starting", "running", "failed", "skipped", "disabled", "exited", "closed"
        self.status = "starting"
        self.reason = ""
        #: The tools it offers (``enabled_tools`` / ``disabled_tools`` applied).
        self.tools: list[mcp_types.Tool] = []
        self.listed = 0  # tools the server listed, before the filters
        self.started_s = 0.0
        self.protocol = ""
        #: What the server says about using its tools (its ``instructions``).
        self.instructions = ""
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._scope: anyio.CancelScope | None = None
        self._stderr: _Tail | None = None
        self._errlog: Any = None  # the parent's copy of the stderr pipe's writing end
        self._stderr_pipe: asyncio.ReadTransport | None = None

    @property
    def name(self) -> str:
        return self.config.name

    # -- starting ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start and list the tools, within ``startup_timeout_s``; never raises: a failure
        is ``status`` "failed" (or "skipped", "disabled") with the ``reason``."""
        cfg = self.config
        if not cfg.enabled:
            self.status, self.reason = "disabled", "enabled = false"
            return
        if (blocked := cfg.blocked_reason() or self._sandbox_problem()) is not None:
            self.status, self.reason = "skipped", blocked
            return
        quiet_sdk_logs()
        loop = asyncio.get_running_loop()
        began = loop.time()
        self._task = asyncio.create_task(self._serve(), name=f"mcp server {cfg.name}")
        waiter = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait([self._task, waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        self.started_s = loop.time() - began
        if self.status == "starting":  # the task ended without saying why
            self.status, self.reason = "failed", "the connection ended while starting"

    def _sandbox_problem(self) -> str | None:
        """Why a server meant for the sandbox cannot run here, or None."""
        cfg, box = self.config, self.sandbox
        if not cfg.sandbox:
            return None
        if box is None:
            return "runs in the sandbox: it starts with a session"
        if box.kind != "docker" and cfg.from_project and not cfg.trusted:
            # the local sandbox is the host: no boundary to run the repository's command in
            return (f"defined by the repository ({cfg.origin}) to run in the sandbox, and this "
                    f"run's sandbox ({box.kind}) has no boundary; to allow it, add "
                    f"\"mcp_servers.{cfg.name}\" to trust_project in your own config file ({user_config_path()})")
        return None

    async def _serve(self) -> None:
        cfg = self.config
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + cfg.startup_timeout_s) as scope:
                self._scope = scope
                if self._stop.is_set():  # closed before it began
                    scope.cancel()
                async with self._connected() as client:
                    self._client = client
                    if self._errlog is not None:  # the child has its copy: EOF when it ends
                        self._errlog.close()
                    listed = await _list_tools(client)
                    self.listed = len(listed)
                    self.tools = [t for t in listed if cfg.offers(t.name)]
                    self.protocol = str(client.protocol_version)
                    self.instructions = (client.instructions or "").strip()
                    scope.deadline = math.inf
                    self.status = "running"
                    self._ready.set()
                    await self._stop.wait()
            if scope.cancelled_caught and self.status == "starting":
                self._fail("stopped before it started (the session ended)" if self._stop.is_set()
                           else f"did not start within {cfg.startup_timeout_s:g} s (startup_timeout_s)")
        except McpConfigError as exc:
            self._fail(str(exc))
        except Exception as exc:
            await self._last_words()
            self._fail(_describe(exc))
        finally:
            self._client = None
            if self._stderr_pipe is not None:
                self._stderr_pipe.close()
            if self.status == "running":
                self.status = "closed"
            self._ready.set()

    def _fail(self, reason: str) -> None:
        if self.status in ("starting", "running"):
            self.status = "failed" if self.status == "starting" else "exited"
            self.reason = reason + self.stderr_note()

    async def _last_words(self) -> None:
        """Wait (briefly) for the rest of what a stopped server wrote to stderr."""
        if self._stderr is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._stderr.ended.wait()

    def stderr_note(self) -> str:
        text = bytes(self._stderr.data).decode("utf-8", "replace").strip() if self._stderr else ""
        if not text:
            return ""
        lines = text.splitlines()[-8:]
        return "; its last words on stderr:\n" + "\n".join(lines)

    @contextlib.asynccontextmanager
    async def _connected(self) -> AsyncIterator[Any]:
        from mcp import Client, Implementation

        info = Implementation(name="asyncfc-agent", version="0.1.0")
        async with contextlib.AsyncExitStack() as stack:
            if self.config.transport in ("http", "sse"):
                transport = await self._http(stack)
            else:
                transport = await self._stdio(stack)
            client = Client(transport, mode="auto", cache=None, client_info=info)
            yield await stack.enter_async_context(client)

    async def _http(self, stack: contextlib.AsyncExitStack) -> Any:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        cfg = self.config
        headers = {k: self._value(v) for k, v in cfg.headers.items()}
        if cfg.bearer_token_env_var:
            token = os.environ.get(cfg.bearer_token_env_var)
            if not token:
                raise McpConfigError(f"{cfg.bearer_token_env_var} (bearer_token_env_var) is not set")
            headers["Authorization"] = f"Bearer {token}"
        if cfg.transport == "sse":
            from mcp.client.sse import sse_client

            # the stream carries the server's pings between events; a call without
            # progress is stopped by tool_timeout_s
            return sse_client(self._value(cfg.url or ""), headers=headers,
                              timeout=cfg.startup_timeout_s,
                              sse_read_timeout=max(300.0, cfg.tool_timeout_s))
        # no read timeout: a call without progress is stopped by tool_timeout_s instead
        timeout = httpx2.Timeout(cfg.startup_timeout_s, read=None)
        http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=timeout))
        return streamable_http_client(self._value(cfg.url or ""), http_client=http)

    async def _stdio(self, stack: contextlib.AsyncExitStack) -> Any:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        argv, cwd, env = self._command()
        read_fd, write_fd = os.pipe()
        errlog = self._errlog = os.fdopen(write_fd, "w")
        stack.callback(errlog.close)
        loop = asyncio.get_running_loop()
        # read until the connection task ends (past the transport's own exit, for the
        # last words of a server that failed)
        self._stderr_pipe, self._stderr = await loop.connect_read_pipe(
            _Tail, os.fdopen(read_fd, "rb"))
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=cwd)
        return stdio_client(params, errlog=errlog)

    def _command(self) -> tuple[list[str], str | None, dict[str, str]]:
        """The command line, its directory and its environment: on the host, or a
        ``docker exec`` into the sandbox's container."""
        cfg = self.config
        argv = [self._value(cfg.command or ""), *(self._value(a) for a in cfg.args)]
        env = {k: self._value(v) for k, v in cfg.env.items()}
        box = self.sandbox
        if not cfg.sandbox or box is None or box.kind != "docker":
            # on the host (the local sandbox is the host too): in the agent's worktree
            cwd = self.workdir / cfg.cwd if cfg.cwd else self.workdir
            return argv, str(cwd), env
        docker = shutil.which("docker")
        container = getattr(box, "container_id", None)
        if docker is None or not container:
            raise McpConfigError("running a server in the sandbox needs the docker command "
                                 "and a started container")
        inner = box.workdir.rstrip("/") + ("/" + cfg.cwd if cfg.cwd else "")
        cmd = [docker]
        host = getattr(getattr(box, "config", None), "docker_host", None)
        if host:
            cmd += ["-H", str(host)]
        cmd += ["exec", "-i", "-w", inner]
        for k, v in env.items():
            cmd += ["-e", f"{k}={v}"]
        # the docker command finds the engine as docker-py did (the server's env goes in -e)
        engine = {k: v for k, v in os.environ.items() if k in DOCKER_ENV}
        return [*cmd, str(container), *argv], None, engine

    def _value(self, text: str) -> str:
        """``${VAR}`` expanded for the servers the user trusts; a project's untrusted
        server gets its text as written (it could name any of the user's secrets)."""
        trusted = not self.config.from_project or self.config.trusted
        return expand(text) if trusted else text

    # -- calling -----------------------------------------------------------------------

    def runs_as_task(self, tool: str) -> bool:
        """Whether a call of ``tool`` runs as an MCP task (see ``tasks``)."""
        return runs_as_task(self._client, next((t for t in self.tools if t.name == tool), None))

    async def call(self, tool: str, arguments: dict[str, Any],
                   on_progress: ProgressFn | None = None,
                   on_status: StatusFn | None = None) -> Any:
        """The server's ``CallToolResult``: a plain call, or a task polled to its end
        (``on_status`` hears its status changes) for a tool that runs as a task.
        ``ServerGone`` when the server is not running or stops during the call;
        ``TaskEnded`` when its task failed or the server cancelled it; other errors of
        the protocol as they come."""
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED

        client = self._client
        if self.status != "running" or client is None:
            raise ServerGone(f"MCP server {self.name!r} is not running ({self.status}"
                             f"{': ' + self.reason if self.reason else ''})")
        try:
            if self.runs_as_task(tool):
                return await call_as_task(client, tool, arguments, on_status)
            return await client.call_tool(tool, arguments, progress_callback=on_progress)
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED:
                raise
            await self._last_words()
            self._fail("the server closed the connection (it exited?)")
            self._stop.set()
            raise ServerGone(f"MCP server {self.name!r} stopped during the call: {self.reason}") from None

    # -- closing -----------------------------------------------------------------------

    async def close(self, timeout_s: float = 10.0) -> None:
        """Stop the server (stdin closed, then the process tree killed) and wait for it."""
        task = self._task
        if task is None:
            return
        self._stop.set()
        if self.status == "starting" and self._scope is not None:
            self._scope.cancel()  # no need to wait for a start nobody will use
        done, _ = await asyncio.wait([task], timeout=timeout_s)
        if not done and self._scope is not None:
            self._scope.cancel()
            await asyncio.wait([task], timeout=timeout_s)


async def _list_tools(client: Any) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


def _describe(exc: BaseException) -> str:
    """An exception of a start, as a line (a task group's nested ones unwrapped)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if getattr(getattr(exc, "error", None), "code", None) == -32000:  # CONNECTION_CLOSED
        return "the server closed the connection (it exited?)"
    if isinstance(exc, FileNotFoundError):
        return f"cannot run the command: {exc.strerror or exc} ({exc.filename or ''})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
