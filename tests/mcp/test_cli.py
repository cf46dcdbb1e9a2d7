"""``asyncfc-agent mcp list``: the configured servers, whether they start, their tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mcp_support import SERVER
from support import make_repo


def mcp_list(repo: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASYNCFC_HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg")}
    return subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "mcp", "list", "--repo",
                           str(repo), *args], capture_output=True, text=True, env=env, timeout=120)


def test_mcp_list_starts_each_server_and_lists_its_tools(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {
        "proj": {"command": sys.executable, "args": [str(SERVER)]}}}))
    mine = tmp_path / "mine.toml"
    mine.write_text(f"[mcp_servers.mine]\ncommand = {json.dumps(sys.executable)}\n"
                    f"args = [{json.dumps(str(SERVER))}]\nread_only = true\n"
                    "disabled_tools = [\"crash\"]\n"
                    f"[mcp_servers.broken]\ncommand = {json.dumps(sys.executable)}\n"
                    "args = [\"-c\", \"import sys; sys.exit('no config here')\"]\n")
    proc = mcp_list(repo, "--config", str(mine), home=tmp_path / "home")
    assert proc.returncode == 1 and "did not start: broken" in proc.stderr
    out = proc.stdout
    assert "mine  [running]" in out and "7 tool(s)" not in out and "6 tool(s), read only" in out
    assert "1 left out by enabled_tools/disabled_tools" in out
    assert "mcp__mine__echo  Give the text back." in out and "mcp__mine__crash" not in out
    assert "broken  [failed]" in out and "no config here" in out
    assert "proj  [skipped]" in out and 'add "mcp_servers.proj"' in out


def test_mcp_list_without_servers_says_where_they_go(tmp_path: Path) -> None:
    proc = mcp_list(make_repo(tmp_path), home=tmp_path / "home")
    assert proc.returncode == 0 and "no MCP servers configured (.mcp.json" in proc.stdout


def test_a_bad_entry_is_a_usage_error_naming_the_key(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "asyncfc.toml").write_text("[mcp_servers.foo]\nargs = []\n")
    proc = mcp_list(repo, home=tmp_path / "home")
    assert proc.returncode == 2 and "mcp_servers.foo.command: missing" in proc.stderr


def test_doctor_checks_each_mcp_server(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"proj": {"command": "x"}}}))
    config = tmp_path / "xdg" / "asyncfc-agent" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"[mcp_servers.mine]\ncommand = {json.dumps(sys.executable)}\n"
                      f"args = [{json.dumps(str(SERVER))}]\n"
                      "[mcp_servers.gone]\ncommand = \"no-such-mcp-server-here\"\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "ASYNCFC_HOME": str(tmp_path / "h")}
    proc = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "doctor", "--repo", str(repo),
                           "--model", "scripted/x"], capture_output=True, text=True, env=env,
                          timeout=120)
    out = proc.stdout
    assert "ok    MCP server mine  7 tool(s), stdio: " in out
    assert "warn  MCP server gone  does not start: cannot run the command" in out
    assert "warn  MCP server proj  not started: defined by the repository, not trusted" in out
    assert 'fix: add "mcp_servers.proj" to trust_project' in out
