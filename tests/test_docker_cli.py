"""``asyncfc-agent sandbox ...`` as real subprocesses, and orphans of killed sessions."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.config import SandboxConfig
from asyncfc_agent.sandboxes.containers import LABEL_PID, list_containers, reap_orphans
from asyncfc_agent.sandboxes.docker import DockerSandbox
from asyncfc_agent.sandboxes.engine import connect

pytestmark = pytest.mark.docker

CLI = [sys.executable, "-c", "from asyncfc_agent.cli.app import main; main()"]

#: A session that opens a sandbox, says its container's name, and waits to be killed.
OWNER = """
import asyncio, sys
from pathlib import Path
from asyncfc_agent.sandboxes.docker import DockerSandbox

async def main():
    box = DockerSandbox(Path(sys.argv[1]), session_id=sys.argv[2])
    await box.start()
    print(box.container_name, flush=True)
    await asyncio.sleep(300)

asyncio.run(main())
"""


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    (path / "README").write_text("hello\n")
    return path


def test_run_passes_the_exit_code_through(docker_image: str, repo: Path) -> None:
    done = cli("sandbox", "run", "--repo", str(repo), "--",
               "id -u; cat README; touch made-here; exit 7")
    assert done.returncode == 7, done.stderr
    uid, readme = done.stdout.split()
    assert uid != "0" and readme == "hello"
    assert not (repo / "made-here").exists()  # a throwaway copy, not the user's tree


def test_run_argv_and_signal_status(docker_image: str, repo: Path) -> None:
    done = cli("sandbox", "run", "--repo", str(repo), "--", "python3", "-c",
               "import os, signal; print('bye', flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    assert done.stdout == "bye\n"
    assert done.returncode == 128 + 9


def test_run_reports_a_missing_image(docker_image: str, repo: Path) -> None:
    done = cli("sandbox", "run", "--repo", str(repo), "--image", "asyncfc-agent-test:absent",
               "--", "true")
    assert done.returncode == 125
    assert done.stderr.strip().count("\n") == 0
    assert "asyncfc-agent-test:absent" in done.stderr and "pull or build" in done.stderr


def test_ctrl_c_during_run_removes_the_container(docker_image: str, repo: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "sandbox", "run", "--repo", str(repo), "--", "echo ready; sleep 300"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        assert len(_containers_of_pid(proc.pid)) == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    finally:
        proc.kill()
        proc.communicate()
    assert _containers_of_pid(proc.pid) == []


def _containers_of_pid(pid: int) -> list[str]:
    raw = connect().api.containers(all=True, filters={"label": f"{LABEL_PID}={pid}"})
    return [c["Id"] for c in raw]


@pytest.fixture
def dead_session(docker_image: str, repo: Path) -> Iterator[str]:
    """A session whose process was SIGKILLed with its sandbox open."""
    session = f"test-dead-{uuid.uuid4().hex[:8]}"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(repo), session], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    name = owner.stdout.readline().strip()
    owner.kill()
    owner.wait()
    owner.stdout.close()
    assert name.startswith("asyncfc-")
    yield session
    for c in list_containers(connect(), session_id=session):
        connect().api.remove_container(c.id, force=True)


def test_orphan_stops_itself_and_prune_removes_it(dead_session: str, repo: Path) -> None:
    # the runner saw its owner's connection end and stopped the container
    deadline = time.monotonic() + 10
    while (found := list_containers(connect(), session_id=dead_session))[0].status != "exited":
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
    snapshots = Path(found[0].snapshots)
    assert snapshots.is_dir() and snapshots.parent == repo.parent

    listed = cli("sandbox", "ls")
    line = next(x for x in listed.stdout.splitlines() if dead_session in x)
    assert "dead" in line

    pruned = cli("sandbox", "prune")
    assert pruned.returncode == 0
    assert dead_session in pruned.stdout
    assert list_containers(connect(), session_id=dead_session) == []
    assert not snapshots.exists()


async def test_reap_orphans_keeps_live_sessions(dead_session: str, repo: Path) -> None:
    mine = f"test-live-{uuid.uuid4().hex[:8]}"
    async with DockerSandbox(repo, session_id=mine, config=SandboxConfig(memory="256m")) as box:
        reaped = await asyncio.to_thread(reap_orphans, session_id=mine)
        assert any(name.startswith(f"asyncfc-{dead_session}") for name in reaped)
        assert list_containers(connect(), session_id=dead_session) == []
        assert len(list_containers(connect(), session_id=mine)) == 1
        assert (await box.exec("echo still here")).output == "still here\n"


def test_prune_images_removes_earlier_recipes_only(docker_image: str) -> None:
    from asyncfc_agent.sandboxes.image import REPOSITORY

    client = connect()
    old = f"{REPOSITORY}:000000{uuid.uuid4().hex[:6]}"
    client.api.tag(docker_image, REPOSITORY, old.rpartition(":")[2])
    try:
        pruned = cli("sandbox", "prune", "--images")
        assert pruned.returncode == 0, pruned.stderr
        assert f"removed image {old}" in pruned.stdout
        tags = {t for img in client.api.images(name=REPOSITORY) for t in img.get("RepoTags") or []}
        assert old not in tags and docker_image in tags
    finally:
        with contextlib.suppress(Exception):
            client.api.remove_image(old)
