"""End to end: ``solve`` with the scripted model (through litellm) calls MCP tools, and a
repository's own servers start only when the user trusts them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mcp_support import SERVER
from support import alive, make_repo, run_solve, write_script

SCRIPT: dict[str, Any] = {
    "turns": [
        {"text": "Ask the server.",
         "tool_calls": [{"name": "mcp__t__slow", "args": {"steps": 5, "label": "e2e"}},
                        {"name": "mcp__t__echo", "args": {"text": "from the server"}}]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"text": "The server answered."},
    ]
}


def events(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def test_a_scripted_run_calls_mcp_tools_as_futures(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    markers = tmp_path / "markers"
    config = tmp_path / "mine.toml"
    config.write_text(f"[mcp_servers.t]\ncommand = {json.dumps(sys.executable)}\n"
                      f"args = {toml_list([str(SERVER)])}\n"
                      f"env = {{ MARKERS = {json.dumps(str(markers))} }}\n")
    out = tmp_path / "out"
    proc = run_solve(repo, write_script(tmp_path, SCRIPT), out, tmp_path / "home",
                     "--config", str(config))
    assert proc.returncode in (0, 1), proc.stderr
    evs = events(out)
    (report,) = [e for e in evs if e["kind"] == "mcp_server"]
    assert report["status"] == "running" and "mcp__t__slow" in report["tools"]
    assert any(e["kind"] == "instructions_loaded" and e["path"] == "MCP server t" for e in evs)
    resolved = {e["tool"]: e for e in evs if e["kind"] == "future_resolved"}
    assert resolved["mcp__t__slow"]["status"] == "resolved"
    assert "e2e: done after 5 steps" in resolved["mcp__t__slow"]["result"]
    assert "from the server" in resolved["mcp__t__echo"]["result"]
    slow_id = next(e["future"] for e in evs if e["kind"] == "future_created"
                   and e["tool"] == "mcp__t__slow")
    # it ran past the grace window: the model got a handle, then the result
    assert any(e["kind"] == "handle_returned" and e["future"] == slow_id for e in evs)
    streamed = "".join(e["text"] for e in evs if e["kind"] == "future_output" and e["future"] == slow_id)
    assert "[progress 5/5] step 5 of 5" in streamed
    result = json.loads((out / "result.json").read_text())
    assert {"mcp__t__slow", "mcp__t__echo"} <= {f["tool"] for f in result["futures"]}
    assert "MCP servers running: t (7 tools)" in proc.stdout
    pids = [int(p.name.removeprefix("pid-")) for p in markers.glob("pid-*")]
    assert len(pids) == 1 and not alive(pids[0])  # closed with the run


def test_a_repository_server_starts_only_when_trusted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    marker = tmp_path / "ran"
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"proj": {
        "command": "sh", "args": ["-c", f"touch {marker}; exec {sys.executable} {SERVER}"]}}}))
    script = write_script(tmp_path, {"turns": [{"text": "Nothing to do."}]})
    out = tmp_path / "out"
    proc = run_solve(repo, script, out, tmp_path / "home")
    assert proc.returncode in (0, 1), proc.stderr
    (report,) = [e for e in events(out) if e["kind"] == "mcp_server"]
    assert report["status"] == "skipped"
    assert 'add "mcp_servers.proj"' in report["reason"] and "trust_project" in report["reason"]
    assert "MCP server proj left out (skipped)" in proc.stdout
    assert not marker.exists()  # the command never ran

    trust = tmp_path / "trust.toml"
    trust.write_text('trust_project = ["mcp_servers.proj"]\n')
    out2 = tmp_path / "out2"
    proc = run_solve(repo, script, out2, tmp_path / "home", "--config", str(trust))
    assert proc.returncode in (0, 1), proc.stderr
    (report,) = [e for e in events(out2) if e["kind"] == "mcp_server"]
    assert report["status"] == "running", report
    assert marker.exists()
