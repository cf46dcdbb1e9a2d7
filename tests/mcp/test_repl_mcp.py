"""``/mcp`` in the REPL: the running session's servers and their tools."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp_support import SERVER
from terminal import Terminal, leave, script, start_repl


def test_slash_mcp_shows_the_sessions_servers(term: Terminal, repo: Path, home: Path,
                                              tmp_path: Path) -> None:
    config = home / "config" / "asyncfc-agent" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"[mcp_servers.t]\ncommand = {json.dumps(sys.executable)}\n"
                      f"args = [{json.dumps(str(SERVER))}]\n"
                      "[mcp_servers.gone]\ncommand = \"no-such-mcp-server-here\"\n")
    start_repl(term, repo, home, "--model", f"scripted/{script(tmp_path, [{'text': 'Hi.'}])}")
    term.wait_for(r"MCP server gone left out \(failed\)")
    term.type("/mcp")
    term.wait_for(r"(?m)^t  \[running\]  stdio: ")
    term.wait_for(r"mcp__t__echo  Give the text back\.")
    term.wait_for(r"(?m)^gone  \[failed\]  stdio: no-such-mcp-server-here")
    term.wait_for(r"cannot run the command: .*no-such-mcp-server-here")
    leave(term, "/exit")
