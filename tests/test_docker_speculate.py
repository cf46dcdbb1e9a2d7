"""A speculative run in the Docker sandbox that a newer edit supersedes is cancelled with its
processes: none of them is left in the container."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest
from asyncfc_agent.agent.events import Event, EventBus
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.agent.futures import FutureState
from asyncfc_agent.sandboxes.config import SandboxConfig
from asyncfc_agent.sandboxes.docker import DockerSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.base import ToolsConfig
from asyncfc_agent.tools.workspace import Workspace
from support import until

pytestmark = pytest.mark.docker


def commands_in(container: str) -> list[str]:
    out = subprocess.run(["docker", "top", container, "-o", "pid,args"], capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()[1:]


async def test_a_superseded_speculative_run_leaves_no_process(tmp_path: Path, docker_image: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.txt").write_text("0\n")  # the first run ends at once; later ones sleep a.txt's seconds
    box = DockerSandbox(root, session_id=f"test-{uuid.uuid4().hex[:10]}",
                        config=SandboxConfig(memory="256m", pids_limit=128, cpus=1, tmp_size="64m"))
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    async with box:
        assert box.image_id is not None and box.image_id.startswith("sha256:")
        ex = Executor(tools=load_tools(["run_tests", "edit_file"]), sandbox=box,
                      workspace=Workspace(root, file_owner=box.file_owner), bus=bus,
                      config=ExecutorConfig(output_interval_s=0.01),
                      tools_config=ToolsConfig(test_command="sleep $(cat a.txt)", command_timeout_s=120))
        async with ex:
            first = ex.submit("run_tests", {}, call_id="a", turn=1)
            await asyncio.wait_for(ex.wait([first]), 60)
            assert first.state is FutureState.RESOLVED
            edit = ex.submit("edit_file", {"path": "a.txt", "old": "0", "new": "1001"}, call_id="b", turn=2)
            await asyncio.wait_for(ex.wait([edit]), 60)
            assert box.container_id is not None
            cid = box.container_id
            await until(lambda: any("sleep 1001" in c for c in commands_in(cid)), "the speculative run")
            s1 = ex.speculator.futures["s1"]
            edit = ex.submit("edit_file", {"path": "a.txt", "old": "1001", "new": "1002"}, call_id="c", turn=3)
            await asyncio.wait_for(ex.wait([edit]), 60)
            await until(lambda: any("sleep 1002" in c for c in commands_in(cid)), "the newer run")
            assert s1.state is FutureState.CANCELLED and "superseded" in (s1.error or "")
            assert not [c for c in commands_in(cid) if "1001" in c]
            s2 = ex.speculator.futures["s2"]
            assert s2.state is FutureState.RUNNING and set(ex.futures) == {"f1", "f2", "f3"}
        # the run's end cancels the last one too
        assert s2.state is FutureState.CANCELLED
