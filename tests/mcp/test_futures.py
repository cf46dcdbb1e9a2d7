"""MCP tools run as futures: real servers, over stdio and Streamable HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncfc_agent.agent.futures import FutureState
from asyncfc_agent.mcp_servers.config import McpServerConfig
from mcp_support import Run, open_run, stdio_config
from support import until


@pytest.fixture(params=["stdio", "http", "sse"])
async def run(request: pytest.FixtureRequest, tmp_path: Path, markers: Path) -> AsyncIterator[Run]:
    if request.param == "stdio":
        cfg = stdio_config("t", markers)
    else:
        url = request.getfixturevalue(f"{request.param}_url")
        cfg = McpServerConfig(name="t", origin="test", url=url, url_transport=request.param)
    async for r in open_run(tmp_path, {"t": cfg}):
        yield r


async def test_tools_are_offered_with_their_schema(run: Run) -> None:
    names = sorted(n for n in run.ex.tools if n.startswith("mcp__"))
    assert names == ["mcp__t__crash", "mcp__t__echo", "mcp__t__fail", "mcp__t__hang",
                     "mcp__t__header", "mcp__t__slow", "mcp__t__write_note"]
    fn = run.ex.tools["mcp__t__slow"].schema()["function"]
    assert fn["description"].startswith("[MCP server t] Take ")
    params = fn["parameters"]
    assert params["type"] == "object" and set(params["required"]) == {"steps", "label"}
    assert params["properties"]["steps"]["type"] == "integer"
    report = run.kinds("mcp_server")[0]
    assert report.to_dict()["status"] == "running" and "mcp__t__echo" in report.to_dict()["tools"]


async def test_the_servers_instructions_are_a_section_of_the_system_prompt(run: Run) -> None:
    section = run.servers.prompt_section()
    assert "MCP server t (tools mcp__t__...):\nCall echo first to see that the line works." in section
    (loaded,) = run.kinds("instructions_loaded")
    assert loaded.to_dict()["path"] == "MCP server t" and loaded.to_dict()["via"] == "system"


async def test_a_call_resolves_with_the_text(run: Run) -> None:
    f = run.submit("mcp__t__echo", text="hello there")
    await run.ex.wait([f])
    assert f.state is FutureState.RESOLVED, f.error
    assert f.value().output == "hello there" and f.value().exit_code == 0


async def test_a_slow_call_streams_its_progress_and_resolves_later(run: Run, markers: Path) -> None:
    f = run.submit("mcp__t__slow", steps=6, label="p")
    await until(lambda: "step 2 of 6" in f.output_text(), "progress as output")
    assert not f.done.is_set()
    await run.ex.wait([f])
    assert f.state is FutureState.RESOLVED, f.error
    assert "p: done after 6 steps" in f.value().output
    out = f.output_text()
    assert out.index("[progress 1/6] step 1 of 6") < out.index("[progress 6/6] step 6 of 6")
    assert any(e.kind == "future_output" for e in run.events)


async def test_cancelling_the_future_cancels_the_call_on_the_server(run: Run, markers: Path) -> None:
    f = run.submit("mcp__t__hang", label="c")
    await until(lambda: (markers / "started-c").exists(), "the call to reach the server")
    assert run.ex.cancel(f.id)
    await run.ex.wait([f])
    assert f.state is FutureState.CANCELLED
    await until(lambda: (markers / "cancelled-c").exists(), "the cancellation to reach the server")
    g = run.submit("mcp__t__echo", text="still here")  # the server goes on
    await run.ex.wait([g])
    assert g.value().output == "still here"


async def test_an_error_of_the_tool_is_its_result(run: Run) -> None:
    f = run.submit("mcp__t__fail")
    await run.ex.wait([f])
    assert f.state is FutureState.RESOLVED and f.value().exit_code == 1
    assert "this tool always fails" in f.value().output


async def test_a_writer_orders_after_edits_and_reports_what_it_changed(
        tmp_path: Path, markers: Path) -> None:
    async for run in open_run(tmp_path, {"t": stdio_config("t", markers)}):
        edit = run.submit("edit_file", path="a.txt", old="alpha", new="ALPHA")
        note = run.submit("mcp__t__write_note", path="note.txt", text="n")
        assert note.effects.writes == frozenset({""})  # a whole-workspace writer
        await run.ex.wait([edit, note])
        assert note.value().edited == ["note.txt"]  # the server runs in the workspace
        assert (run.root / "note.txt").read_text() == "n"
        assert run.ex.workspace.revision == 2


async def test_no_progress_for_tool_timeout_s_stops_the_call(tmp_path: Path, markers: Path) -> None:
    cfg = stdio_config("t", markers, tool_timeout_s=1.0)
    async for run in open_run(tmp_path, {"t": cfg}):
        slow = run.submit("mcp__t__slow", steps=8, label="s", step_s=0.4)  # progress: runs on
        hang = run.submit("mcp__t__hang", label="h")
        await run.ex.wait([slow, hang])
        assert slow.state is FutureState.RESOLVED, slow.error
        assert hang.state is FutureState.TIMED_OUT
        assert "no result and no progress for 1 s" in (hang.error or "")
        await until(lambda: (markers / "cancelled-h").exists(), "the cancellation on the server")


async def test_a_read_only_server_reads_beside_other_readers(tmp_path: Path, markers: Path) -> None:
    cfg = stdio_config("ro", markers, read_only=True)
    async for run in open_run(tmp_path, {"ro": cfg}):
        a = run.submit("mcp__ro__hang", label="a")
        b = run.submit("mcp__ro__echo", text="beside")
        await run.ex.wait([b])
        assert b.value().output == "beside" and not a.done.is_set()
        assert a.effects.reads == frozenset({""}) and not a.effects.writes
        run.ex.cancel(a.id)
        await asyncio.wait_for(run.ex.wait([a]), 30)


async def test_http_headers_and_the_bearer_token_reach_the_server(
        tmp_path: Path, http_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MCP_TOKEN", "s3cret")
    cfg = McpServerConfig(name="h", origin="test", url=http_url, headers={"X-Team": "core"},
                          bearer_token_env_var="TEST_MCP_TOKEN")
    async for run in open_run(tmp_path, {"h": cfg}):
        auth = run.submit("mcp__h__header", name="Authorization")
        team = run.submit("mcp__h__header", name="X-Team")
        await run.ex.wait([auth, team])
        assert (auth.value().output, team.value().output) == ("Bearer s3cret", "core")


async def test_a_missing_token_variable_keeps_the_server_out(
        tmp_path: Path, http_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_MCP_TOKEN", raising=False)
    cfg = McpServerConfig(name="h", origin="test", url=http_url, bearer_token_env_var="TEST_MCP_TOKEN")
    async for run in open_run(tmp_path, {"h": cfg}):
        (report,) = run.kinds("mcp_server")
        assert report.to_dict()["status"] == "failed"
        assert "TEST_MCP_TOKEN (bearer_token_env_var) is not set" in report.to_dict()["reason"]


async def test_a_server_dying_mid_call_fails_that_future_with_the_reason(run: Run) -> None:
    crash = run.submit("mcp__t__crash", label="x")
    await run.ex.wait([crash])
    assert crash.state is FutureState.FAILED
    assert "MCP server 't' stopped during the call" in (crash.error or "")
    later = run.submit("mcp__t__echo", text="anyone?")
    await run.ex.wait([later])
    assert later.state is FutureState.FAILED and "is not running (exited" in (later.error or "")
