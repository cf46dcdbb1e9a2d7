"""Servers start with the session, each within its own timeout; a failing one is reported
and left out; a crash fails the call it was in; closing leaves no process behind."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from asyncfc_agent.agent.futures import FutureState
from asyncfc_agent.mcp_servers.config import McpServerConfig
from asyncfc_agent.mcp_servers.manager import McpServers
from mcp_support import open_run, stdio_config
from support import alive, until


def pids(markers: Path) -> list[int]:
    return [int(p.name.removeprefix("pid-")) for p in markers.glob("pid-*")]


async def test_a_crash_mid_call_fails_that_future_and_the_run_goes_on(
        tmp_path: Path, markers: Path) -> None:
    servers = {"a": stdio_config("a", markers / "a"), "b": stdio_config("b", markers / "b")}
    async for run in open_run(tmp_path, servers):
        slow = run.submit("mcp__b__slow", steps=3, label="other")
        crash = run.submit("mcp__a__crash", label="x")
        await run.ex.wait([crash])
        assert crash.state is FutureState.FAILED
        assert "MCP server 'a' stopped during the call" in (crash.error or "")
        assert "crashing on purpose" in (crash.error or "")  # its stderr, as the reason
        again = run.submit("mcp__a__echo", text="hi")
        await run.ex.wait([again, slow])
        assert again.state is FutureState.FAILED and "not running (exited" in (again.error or "")
        assert slow.state is FutureState.RESOLVED  # the other server is untouched
        read = run.submit("read_file", path="a.txt")
        await run.ex.wait([read])
        assert read.state is FutureState.RESOLVED


def silent_server(markers: Path) -> str:
    return (f"import os, time; open({str(markers)!r} + '/pid-' + str(os.getpid()), 'w'); "
            "time.sleep(600)")


async def test_a_server_that_never_starts_is_reported_and_left_out(
        tmp_path: Path, markers: Path) -> None:
    silent = silent_server(markers)
    never = McpServerConfig(name="never", origin="test", command=sys.executable,
                            args=["-c", silent], startup_timeout_s=1.0)
    missing = McpServerConfig(name="missing", origin="test", command="no-such-mcp-server-here")
    good = stdio_config("good", markers / "good")
    async for run in open_run(tmp_path, {"never": never, "missing": missing, "good": good}):
        reports = {e.to_dict()["server"]: e.to_dict() for e in run.kinds("mcp_server")}
        assert reports["never"]["status"] == "failed"
        assert "did not start within 1 s (startup_timeout_s)" in reports["never"]["reason"]
        assert reports["missing"]["status"] == "failed"
        assert "no-such-mcp-server-here" in reports["missing"]["reason"]
        assert reports["good"]["status"] == "running"
        notices = [e.to_dict()["message"] for e in run.kinds("notice")]
        assert sum("MCP server never left out" in n for n in notices) == 1
        assert not any(name.startswith(("mcp__never", "mcp__missing")) for name in run.ex.tools)
        f = run.submit("mcp__good__echo", text="on")
        await run.ex.wait([f])
        assert f.value().output == "on"
        (silent_pid,) = pids(markers)
        await until(lambda pid=silent_pid: not alive(pid), "the server that never started to be stopped")


async def test_closing_stops_every_server_process(tmp_path: Path, markers: Path) -> None:
    servers = {n: stdio_config(n, markers) for n in ("one", "two")}
    async for run in open_run(tmp_path, servers):
        hang = run.submit("mcp__one__hang", label="h")
        await until(lambda: (markers / "started-h").exists(), "the call to start")
        assert len(pids(markers)) == 2 and all(map(alive, pids(markers)))
        assert not hang.done.is_set()
    # the executor cancelled the call, then the servers were closed
    assert hang.state is FutureState.CANCELLED
    assert not any(map(alive, pids(markers)))
    assert all(c.status == "closed" for c in run.servers.connections.values())


async def test_a_project_server_for_the_sandbox_is_not_run_by_the_local_one(
        tmp_path: Path, markers: Path) -> None:
    cfg = stdio_config("boxed", markers, from_project=True, sandbox=True, origin="repo/.mcp.json")
    async for run in open_run(tmp_path, {"boxed": cfg}):
        (report,) = run.kinds("mcp_server")
        assert report.to_dict()["status"] == "skipped"
        assert "this run's sandbox (local) has no boundary" in report.to_dict()["reason"]
        assert not pids(markers)
    cfg.trusted = True  # the user's word: it runs, on the host like the local sandbox
    async for run in open_run(tmp_path, {"boxed": cfg}):
        assert run.kinds("mcp_server")[0].to_dict()["status"] == "running"


async def test_a_session_ending_while_a_server_starts_stops_it_at_once(
        tmp_path: Path, markers: Path) -> None:
    cfg = McpServerConfig(name="slow", origin="test", command=sys.executable,
                          args=["-c", silent_server(markers)], startup_timeout_s=600)
    servers = McpServers({"slow": cfg}, workdir=tmp_path)
    starting = asyncio.create_task(servers.start(None))
    await until(lambda: bool(pids(markers)), "the server process to run")
    starting.cancel()  # Ctrl-C while the session opens
    await asyncio.gather(starting, return_exceptions=True)
    await asyncio.wait_for(servers.close(), 60)  # not the 600 s of its startup timeout
    conn = servers.connections["slow"]
    assert conn.status == "failed" and "stopped before it started" in conn.reason
    assert not any(map(alive, pids(markers)))
