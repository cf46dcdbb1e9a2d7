"""A stdio MCP server in the standard library alone (for the sandbox's image, which has
python3 but not the mcp package): the 2025-11-25 handshake, tools/list and one tool.

``where`` answers where it runs (its directory, whether in a container) and leaves a file
there, so a test sees the server run in the workspace inside the sandbox.
"""

import json
import os
import sys
from typing import Any

TOOLS = [{"name": "where", "description": "Where this server runs.",
          "inputSchema": {"type": "object", "properties": {"note": {"type": "string"}}}}]


def answer(request_id: Any, result: Any = None, error: Any = None) -> None:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    message.update({"error": error} if error else {"result": result})
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def call(params: dict[str, Any]) -> dict[str, Any]:
    note = params.get("arguments", {}).get("note", "")
    with open("from-the-server.txt", "w") as f:
        f.write(note)
    text = (f"cwd={os.getcwd()} container={os.path.exists('/.dockerenv')} "
            f"uid={os.getuid()} token={os.environ.get('SERVER_TOKEN', '-')}")
    return {"content": [{"type": "text", "text": text}], "isError": False}


for line in sys.stdin:
    msg = json.loads(line)
    method, rid = msg.get("method"), msg.get("id")
    if rid is None:
        continue  # a notification
    if method == "initialize":
        answer(rid, {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                     "serverInfo": {"name": "minimal", "version": "1"}})
    elif method == "tools/list":
        answer(rid, {"tools": TOOLS})
    elif method == "tools/call":
        answer(rid, call(msg.get("params", {})))
    elif method == "ping":
        answer(rid, {})
    else:
        answer(rid, error={"code": -32601, "message": f"method not found: {method}"})
