"""A stdio MCP server run in the Docker sandbox (``sandbox = true``) instead of on the host."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from asyncfc_agent.agent.events import Event, EventBus
from asyncfc_agent.agent.executor import Executor
from asyncfc_agent.agent.futures import FutureState
from asyncfc_agent.mcp_servers.config import McpServerConfig
from asyncfc_agent.mcp_servers.manager import McpServers
from asyncfc_agent.sandboxes.config import SandboxConfig
from asyncfc_agent.sandboxes.docker import DockerSandbox
from asyncfc_agent.tools.workspace import Workspace
from support import git, make_repo, run_solve, write_script

pytestmark = pytest.mark.docker
MINIMAL = Path(__file__).parent / "servers" / "minimal_server.py"


async def test_a_server_in_the_sandbox_runs_in_the_container_on_the_workspace(
        tmp_path: Path, docker_image: str) -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker command: a server in the sandbox is started with it")
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(MINIMAL, root / "server.py")
    cfg = McpServerConfig(name="boxed", origin="repo/.mcp.json", from_project=True, sandbox=True,
                          command="python3", args=["server.py"], env={"SERVER_TOKEN": "t0k"})
    assert cfg.blocked_reason() is None  # in the sandbox, it needs no trust
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    box = DockerSandbox(root, session_id=f"test-{uuid.uuid4().hex[:10]}", config=SandboxConfig())
    servers = McpServers({"boxed": cfg}, workdir=root, bus=bus)
    await box.start()
    try:
        await servers.start(box, phase="host")
        assert servers.connections["boxed"].status == "starting"  # waits for the sandbox
        await servers.start(box, phase="sandbox")
        servers.report()
        conn = servers.connections["boxed"]
        assert conn.status == "running", conn.reason
        ex = Executor(tools=servers.tools(), sandbox=box,
                      workspace=Workspace(root, file_owner=box.file_owner), bus=bus)
        async with ex:
            f = ex.submit("mcp__boxed__where", {"note": "hello"}, call_id="a", turn=1)
            await ex.wait([f], timeout_s=60)
        assert f.state is FutureState.RESOLVED, f.error
        out = f.value().output
        assert f"cwd={box.workdir}" in out and "container=True" in out and "token=t0k" in out
        assert f.value().edited == ["from-the-server.txt"]
        assert (root / "from-the-server.txt").read_text() == "hello"
    finally:
        await servers.close()
        await box.close()
    listed = await asyncio.to_thread(
        subprocess.run, ["docker", "ps", "-aq", "--filter", f"name={box.container_name}"],
        capture_output=True, text=True, check=True)
    assert listed.stdout.strip() == ""


def test_solve_in_docker_runs_a_repository_server_in_its_sandbox(tmp_path: Path,
                                                                 docker_image: str) -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker command: a server in the sandbox is started with it")
    repo = make_repo(tmp_path)
    shutil.copy(MINIMAL, repo / "server.py")
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"boxed": {
        "command": "python3", "args": ["server.py"], "sandbox": True}}}))
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "server")
    script = write_script(tmp_path, {"turns": [
        {"tool_calls": [{"name": "mcp__boxed__where", "args": {"note": "from a run"}}]},
        {"text": "Done."}]})
    out = tmp_path / "out"
    proc = run_solve(repo, script, out, tmp_path / "home", sandbox="docker")
    assert proc.returncode in (0, 1), proc.stderr
    events = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    (report,) = [e for e in events if e["kind"] == "mcp_server"]
    assert report["status"] == "running", report  # the repository's, in the sandbox: no trust
    (resolved,) = [e for e in events if e["kind"] == "future_resolved"]
    assert resolved["status"] == "resolved" and "container=True" in resolved["result"]
    patch = (out / "patch.diff").read_text()
    assert "from-the-server.txt" in patch and "+from a run" in patch
