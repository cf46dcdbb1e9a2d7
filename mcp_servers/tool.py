"""An MCP server's tool as a repository tool: a future like any other.

Its name is ``mcp__SERVER__TOOL`` in the function-name alphabet every provider takes
(letters, digits, ``_`` and ``-``, at most 64), its parameters are the server's input
schema as it gave it, its progress notifications are its output (each one restarts the
``tool_timeout_s`` clock), and cancelling its future cancels the call on the server. A
tool the server runs as an MCP task (see ``tasks``) has the task's status changes as its
output instead, each one restarting the clock too. A
server's tools are whole-workspace writers unless it is configured ``read_only``: then
they are readers of the whole workspace.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from ..tools.base import WHOLE, Effects, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from ..tools.text import cap, plural, some_paths
from .connection import McpConnection, ServerGone

if TYPE_CHECKING:
    import mcp_types

#: Longest function name providers accept (OpenAI, Anthropic, Gemini).
MAX_NAME = 64
#: Characters of a tool's description given to the model at most.
MAX_DESCRIPTION = 2000
_BAD = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(server: str, tool: str, taken: set[str] | None = None) -> str:
    """``mcp__server__tool``, sanitised and within 64 characters; a short hash keeps two
    names apart that would otherwise be the same."""
    name = _BAD.sub("_", f"mcp__{server}__{tool}")
    if len(name) <= MAX_NAME and (taken is None or name not in taken):
        return name
    digest = hashlib.sha1(f"{server}\0{tool}".encode()).hexdigest()[:8]
    return name[: MAX_NAME - 9] + "_" + digest


def name_prefix(server: str) -> str:
    """What the names of a server's tools start with."""
    return _BAD.sub("_", f"mcp__{server}__")


class McpArgs(ToolArgs):
    """The call's arguments, as the model wrote them: the server checks them."""

    arguments: dict[str, Any] = {}


class McpTool(Tool[McpArgs]):
    """One tool of a connected MCP server."""

    Args = McpArgs
    description = "A tool of an MCP server."

    def __init__(self, connection: McpConnection, tool: mcp_types.Tool, name: str) -> None:
        self.connection = connection
        self.remote = tool.name
        self.name = name  # type: ignore[misc]  # one class, a name per server and tool
        text = (tool.description or tool.title or "").strip()
        self.description = (  # type: ignore[misc]
            f"[MCP server {connection.name}] " + (text[:MAX_DESCRIPTION] or tool.name))
        self.input_schema = _object_schema(tool.input_schema)

    def parse(self, raw: dict[str, Any]) -> McpArgs:
        return McpArgs(arguments=raw)

    def schema(self) -> dict[str, Any]:
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.input_schema}}

    def effects(self, args: McpArgs) -> Effects:
        if self.connection.config.read_only:
            return Effects(reads=frozenset({WHOLE}))
        return Effects.whole_writer()

    async def run(self, ctx: ToolContext, args: McpArgs) -> ToolResult:
        writer = not self.connection.config.read_only
        ws = ctx.workspace
        before = await asyncio.to_thread(ws.fingerprint) if writer else {}
        limit = self.connection.config.tool_timeout_s
        timed_out, result = False, None
        try:
            result = await self._call(ctx, args, limit)
        except TimeoutError:
            timed_out = True
        except ServerGone as exc:
            raise ToolError(str(exc)) from None
        except Exception as exc:  # the server's error answer, or a result it got wrong
            raise ToolError(f"MCP server {self.connection.name!r}: {_reason(exc)}") from None
        edited = ws.diff_fingerprints(before, await asyncio.to_thread(ws.fingerprint)) if writer else []
        notes = [f"[changed {plural(len(edited), 'file')}: {some_paths(edited)}]"] if edited else []
        if timed_out:
            note = (f"no result and no progress for {limit:g} s (tool_timeout_s of MCP server "
                    f"{self.connection.name!r}): the call was cancelled on the server")
            return ToolResult(output="\n".join([*notes, f"[{note}]"]), exit_code=None, edited=edited,
                              meta={"timed_out": True, "timeout_note": note})
        assert result is not None
        text, is_error = render(result)
        output, truncated = cap(text, ctx.config.output_limit, "both")
        lines = [output] if output else []
        lines += notes
        if is_error or not output:
            lines.append("[the tool reported an error]" if is_error else "[no output]")
        return ToolResult(output="\n".join(lines), exit_code=1 if is_error else 0,
                          truncated=truncated, edited=edited,
                          meta={"server": self.connection.name, "tool": self.remote})

    async def _call(self, ctx: ToolContext, args: McpArgs, limit: float) -> Any:
        """The call, stopped after ``limit`` seconds without a result, a progress
        notification or a change of its task's status (each one moves the deadline)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(limit) as deadline:
            live = True

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                if live:  # a late notification finds the call over
                    deadline.reschedule(loop.time() + limit)
                    ctx.emit(progress_line(progress, total, message) + "\n")

            async def on_status(status: str, message: str | None) -> None:
                if live:
                    deadline.reschedule(loop.time() + limit)
                    ctx.emit(status_line(status, message) + "\n")

            try:
                return await self.connection.call(self.remote, args.arguments, on_progress, on_status)
            finally:
                live = False


def progress_line(progress: float, total: float | None, message: str | None) -> str:
    done = f"{progress:g}/{total:g}" if total else f"{progress:g}"
    return f"[progress {done}] {message}" if message else f"[progress {done}]"


def status_line(status: str, message: str | None) -> str:
    """A task's status (of a tool run as an MCP task) as a line of output."""
    return f"[task {status}] {message}" if message else f"[task {status}]"


def render(result: Any) -> tuple[str, bool]:
    """A ``CallToolResult`` as text: its text parts as they are, the others described."""
    parts: list[str] = []
    for item in result.content or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {item.mime_type}, {_decoded_size(item.data):,} bytes, not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource {item.uri}" + (f" ({item.name})" if item.name else "") + "]")
        elif kind == "resource":
            res = item.resource
            text = getattr(res, "text", None)
            parts.append(text if text is not None else
                         f"[resource {res.uri}, {_decoded_size(getattr(res, 'blob', ''))} bytes]")
        else:
            parts.append(f"[{kind or 'unknown'} content, not shown]")
    structured = getattr(result, "structured_content", None)
    if structured is not None and not parts:
        parts.append(json.dumps(structured, indent=1, ensure_ascii=False))
    return "\n".join(parts), bool(getattr(result, "is_error", False))


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except ValueError:
        return len(data)


def _object_schema(schema: Any) -> dict[str, Any]:
    """The server's input schema, as an object schema every provider takes."""
    params = dict(schema) if isinstance(schema, dict) else {}
    params.pop("$schema", None)
    params.pop("title", None)
    params["type"] = "object"
    params.setdefault("properties", {})
    return params


def _reason(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None) or str(exc) or type(exc).__name__
    return str(message)
