"""An MCP server for the tests, written with the ``mcp`` package's server API.

Run as a process: ``python tools_server.py`` speaks stdio, ``python tools_server.py --http
PORT`` serves Streamable HTTP on 127.0.0.1 (``--sse PORT``: the older HTTP+SSE). ``MARKERS`` (an environment variable) names
a directory where it leaves a file for each thing the tests look for: a call that started
(``started-NAME``), a cancellation that reached it (``cancelled-NAME``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("test-tools", instructions="Call echo first to see that the line works.")
MARKERS = Path(os.environ.get("MARKERS", "."))


def mark(name: str, text: str = "") -> None:
    MARKERS.mkdir(parents=True, exist_ok=True)
    (MARKERS / name).write_text(text)


@server.tool()
def echo(text: str) -> str:
    """Give the text back."""
    return text


@server.tool()
async def slow(steps: int, label: str, ctx: Context, step_s: float = 0.2) -> str:
    """Take ``steps`` steps of ``step_s`` seconds, reporting progress after each."""
    mark(f"started-{label}")
    try:
        for i in range(steps):
            await anyio.sleep(step_s)
            await ctx.report_progress(i + 1, steps, f"step {i + 1} of {steps}")
    except anyio.get_cancelled_exc_class():
        mark(f"cancelled-{label}", "the client cancelled the call")
        raise
    return f"{label}: done after {steps} steps"


@server.tool()
async def hang(label: str) -> str:
    """Never answer (until cancelled)."""
    mark(f"started-{label}")
    try:
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        mark(f"cancelled-{label}")
        raise
    return "never"


@server.tool()
async def crash(label: str) -> str:
    """Die in the middle of the call."""
    mark(f"started-{label}")
    await anyio.sleep(0.2)
    print("test-tools: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
def write_note(path: str, text: str) -> str:
    """Write a file below the server's working directory."""
    Path(path).write_text(text)
    return f"wrote {path}"


@server.tool()
def header(name: str, ctx: Context) -> str:
    """A header of the HTTP request that carried the call."""
    return str((ctx.headers or {}).get(name.lower(), "(none)"))


@server.tool()
def fail() -> str:
    """Report an error as the tool's result."""
    raise ToolError("this tool always fails")


if __name__ == "__main__":
    mark(f"pid-{os.getpid()}")
    if len(sys.argv) > 2 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--sse":
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
