"""The executor over the Docker sandbox: a container that dies under a future fails that
future with the reason, and the futures after it run in a new sandbox."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest
from asyncfc_agent.agent.events import Event, EventBus
from asyncfc_agent.agent.executor import Executor
from asyncfc_agent.agent.futures import FutureState
from asyncfc_agent.sandboxes.base import Sandbox
from asyncfc_agent.sandboxes.config import SandboxConfig
from asyncfc_agent.sandboxes.docker import DockerSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.workspace import Workspace

pytestmark = pytest.mark.docker


async def test_a_dead_container_fails_its_future_and_the_run_goes_on(
    tmp_path: Path, docker_image: str
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.txt").write_text("alpha\n")
    session = f"test-{uuid.uuid4().hex[:10]}"
    config = SandboxConfig(memory="256m", pids_limit=128, cpus=1, tmp_size="64m")
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    started: list[DockerSandbox] = []

    async def fresh() -> Sandbox:
        box = DockerSandbox(root, session_id=session, config=config)
        await box.start()
        started.append(box)
        return box

    first = await fresh()
    ex = Executor(tools=load_tools(["run", "read_file"]), sandbox=first,
                  workspace=Workspace(root, file_owner=first.file_owner), bus=bus,
                  sandbox_factory=fresh)
    try:
        async with ex:
            doomed = ex.submit("run", {"command": "echo up; sleep 60"}, call_id="a", turn=1)
            output = asyncio.Event()
            bus.subscribe(lambda e: output.set() if getattr(e, "future", "") == doomed.id
                          and e.kind == "future_output" else None)
            await asyncio.wait_for(output.wait(), 30)
            assert first.container_id is not None
            await asyncio.to_thread(
                subprocess.run, ["docker", "kill", first.container_id], check=True, capture_output=True
            )
            await ex.wait([doomed], timeout_s=30)
            assert doomed.state is FutureState.FAILED
            assert doomed.error is not None and doomed.error.startswith("the sandbox died")
            after = ex.submit("run", {"command": "cat a.txt"}, call_id="b", turn=2)
            await ex.wait([after], timeout_s=60)
            assert after.state is FutureState.RESOLVED and "alpha" in after.value().output
            assert ex.sandbox is not first and len(started) == 2
            assert any("a new one was started" in getattr(e, "message", "") for e in events)
    finally:
        for box in started:
            await box.close()
