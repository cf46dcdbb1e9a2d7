"""The Docker sandbox against the real engine and the default image."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.base import SandboxDied, SandboxError, SandboxLimit
from asyncfc_agent.sandboxes.config import SandboxConfig
from asyncfc_agent.sandboxes.containers import SandboxContainer, list_containers
from asyncfc_agent.sandboxes.docker import DockerSandbox
from asyncfc_agent.sandboxes.engine import ImageMissing, connect
from asyncfc_agent.sandboxes.factory import future_sandbox, revive

pytestmark = pytest.mark.docker

#: Small limits keep the hostile tests quick.
TEST_CONFIG = SandboxConfig(memory="256m", pids_limit=128, cpus=1, tmp_size="64m")


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "mod.py").write_text("VALUE = 1\n")
    (ws / ".git").mkdir()
    (ws / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return ws


def _session() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


async def _containers(session: str) -> list[SandboxContainer]:
    return await asyncio.to_thread(lambda: list_containers(connect(), session_id=session))


@pytest.fixture
async def box(docker_image: str, tmp_path: Path) -> AsyncIterator[DockerSandbox]:
    async with DockerSandbox(_workspace(tmp_path), session_id=_session(), config=TEST_CONFIG) as sb:
        yield sb


async def _processes(box: DockerSandbox) -> str:
    return str((await box.exec("ps -eo pid,pgid,args")).output)


async def _until_running(box: DockerSandbox, command: str) -> None:
    deadline = time.monotonic() + 60
    while command not in await _processes(box):
        assert time.monotonic() < deadline, f"{command!r} did not start"
        await asyncio.sleep(0.05)


async def test_exec_output_exit_code_cwd_env(box: DockerSandbox) -> None:
    chunks: list[str] = []
    result = await box.exec(
        "pwd; echo $GREETING; echo oops >&2; exit 3",
        cwd="/workspace/pkg",
        env={"GREETING": "hello"},
        on_output=chunks.append,
    )
    assert result.exit_code == 3 and not result.timed_out
    assert result.output.splitlines() == ["/workspace/pkg", "hello", "oops"]
    assert "".join(chunks) == result.output
    argv = await box.exec(["python3", "-c", "import sys; print(sys.argv[1:])", "a b", "c"])
    assert argv.output == "['a b', 'c']\n"


async def test_output_streams_while_the_command_runs(box: DockerSandbox) -> None:
    # the command goes on only once its first line has reached us
    result = await box.exec(
        "echo first; while [ ! -e seen ]; do sleep 0.02; done; echo second",
        on_output=lambda _text: (box.host_workspace / "seen").touch(),
        timeout_s=60,
    )
    assert not result.timed_out and result.output == "first\nsecond\n"


async def test_commands_run_side_by_side(box: DockerSandbox) -> None:
    # each one ends only once all four have started: one at a time, they would time out
    barrier = "touch /tmp/started.{i}; while [ $(ls /tmp/started.* | wc -l) -lt 4 ]; do sleep 0.02; done"
    results = await asyncio.gather(
        *(box.exec(f"{barrier.format(i=i)}; echo {i}", timeout_s=60) for i in range(4))
    )
    assert [(r.output, r.timed_out) for r in results] == [(f"{i}\n", False) for i in range(4)]


async def test_missing_cwd_is_a_sandbox_error(box: DockerSandbox) -> None:
    with pytest.raises(SandboxError, match=r"cannot run the command.*No such file"):
        await box.exec("true", cwd="/workspace/nope")
    assert (await box.exec("echo fine")).output == "fine\n"


async def test_timeout_kills_the_tree_and_keeps_partial_output(box: DockerSandbox) -> None:
    result = await box.exec("echo started; sleep 301 & sleep 302; echo never", timeout_s=3)
    assert result.timed_out and result.exit_code is None
    assert result.output == "started\n"
    assert result.duration_s >= 3
    ps = await _processes(box)
    assert "sleep 30" not in ps, ps


async def test_cancel_kills_the_tree(box: DockerSandbox) -> None:
    task = asyncio.create_task(box.exec("sleep 303 & sleep 304"))
    await _until_running(box, "sleep 304")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ps = await _processes(box)
    assert "sleep 30" not in ps, ps


async def test_snapshot_is_isolated_from_later_edits(box: DockerSandbox) -> None:
    snap = await box.snapshot(revision=1)
    assert snap.path.startswith("/snapshots/") and snap.host_path is not None
    (box.host_workspace / "pkg" / "mod.py").write_text("VALUE = 2\n")
    in_snapshot = await box.exec("cat pkg/mod.py; ls -A", cwd=snap.path)
    in_workspace = await box.exec("cat pkg/mod.py")
    assert in_snapshot.output.splitlines()[0] == "VALUE = 1"
    assert ".git" not in in_snapshot.output.splitlines()  # left out, as in the local sandbox
    assert in_workspace.output == "VALUE = 2\n"
    # a test run writes caches where it runs
    assert (await box.exec("mkdir .pytest_cache && touch pkg/x.pyc", cwd=snap.path)).exit_code == 0
    await box.remove_snapshot(snap)
    assert not snap.host_path.exists()
    await box.remove_snapshot(snap)  # already gone: fine


async def test_snapshot_of_a_50mb_workspace_is_whole(box: DockerSandbox) -> None:
    # how long it takes is a figure of the sandbox benchmark (bench/sandbox_bench.py)
    for i in range(50):
        (box.host_workspace / f"blob{i}.bin").write_bytes(os.urandom(1 << 20))
    snap = await box.snapshot(revision=2)
    assert (await box.exec("du -sm . | cut -f1", cwd=snap.path)).output.strip() in ("50", "51")
    await box.remove_snapshot(snap)


async def test_runs_as_non_root_and_can_edit_the_workspace(box: DockerSandbox) -> None:
    result = await box.exec("id -u; id -g; echo x >> pkg/mod.py && touch new.txt && echo wrote")
    uid, gid, wrote = result.output.split()
    assert uid != "0" and wrote == "wrote"
    if box.file_owner is not None:
        assert box.file_owner == (int(uid), int(gid))
        assert (box.host_workspace / "new.txt").stat().st_uid == int(uid)


async def test_network_is_off(box: DockerSandbox) -> None:
    probe = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('refused', exc)\n"
    )
    result = await box.exec(["python3", "-c", probe])
    assert result.output.startswith("refused"), result.output
    assert (await box.exec("cat /sys/class/net/*/operstate | wc -l")).output.strip() == "1"  # lo


async def test_memory_hog_is_killed_and_the_sandbox_lives(box: DockerSandbox) -> None:
    with pytest.raises(SandboxLimit, match=r"^stopped: the command ran out of memory \(limit 256m\)"):
        await box.exec(["python3", "-c", "x = b'x' * (600 * 1024 * 1024); print('survived')"])
    assert (await box.exec("echo alive")).output == "alive\n"  # the runner was not the one killed


async def test_commands_cannot_reach_into_the_runner(box: DockerSandbox) -> None:
    # the runner is undumpable: a command of its uid can neither ptrace it nor open its
    # fds to forge protocol events; a process of the same uid that is dumpable can be read
    assert box._channel is not None
    runner = box._channel.info["pid"]
    probe = "ls /proc/{}/fd >/dev/null 2>&1 && echo open || echo closed"
    assert runner == 1  # the container's init: no other process holds the attach stream
    assert (await box.exec(probe.format(runner))).output == "closed\n"
    killed = await box.exec("kill -KILL 1; kill -TERM 1; echo still here")
    assert killed.output == "still here\n"  # PID 1 takes no signal it does not handle
    assert (await box.exec("sleep 30 & " + probe.format("$!") + "; kill $!")).output == "open\n"


async def test_orphans_of_commands_are_reaped(box: DockerSandbox) -> None:
    await box.exec("(sleep 0.2 &) ; exit 0")  # the sleep is orphaned: PID 1 inherits it
    deadline = time.monotonic() + 60
    while "sleep" in (ps := (await box.exec("ps -eo stat,args")).output):
        assert time.monotonic() < deadline, ps
        await asyncio.sleep(0.1)
    assert not [line for line in ps.splitlines() if line.startswith("Z")], ps
    # reaping orphans never takes a command's own exit status
    results = await asyncio.gather(*(box.exec("(sleep 0.01 &); exit 3") for _ in range(50)))
    assert {r.exit_code for r in results} == {3}


async def test_fork_bomb_is_contained(box: DockerSandbox) -> None:
    bomb = await box.exec("bomb() { bomb | bomb & }; bomb; sleep 5", timeout_s=3)
    assert bomb.timed_out  # bash keeps retrying its refused forks until it is killed
    assert "Resource temporarily unavailable" in bomb.output
    events = await box.exec(
        "cat /sys/fs/cgroup/pids/pids.events 2>/dev/null || cat /sys/fs/cgroup/pids.events"
    )
    hits = re.search(r"max (\d+)", events.output)
    assert hits and int(hits.group(1)) > 0, events.output  # the limit was reached and held
    assert (await box.exec("echo alive")).output == "alive\n"
    assert len((await _processes(box)).splitlines()) < 10


async def test_only_workspace_and_tmp_are_writable(box: DockerSandbox) -> None:
    script = (
        "for d in / /etc /usr /root /opt /var /tmp /workspace /snapshots; do "
        "touch $d/probe 2>/dev/null && echo $d ok || echo $d denied; done"
    )
    result = dict(line.split() for line in (await box.exec(script)).output.splitlines())
    assert result.pop("/tmp") == "ok"
    assert result.pop("/workspace") == "ok"
    assert result.pop("/snapshots") == "ok"  # the copies of the workspace live there
    assert set(result.values()) == {"denied"}, result


async def test_host_environment_does_not_leak(
    docker_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCFC_TEST_SECRET", "hunter2")
    config = SandboxConfig(env={"CHOSEN": "yes"})
    async with DockerSandbox(_workspace(tmp_path), session_id=_session(), config=config) as sb:
        env = (await sb.exec("env")).output
    assert "hunter2" not in env and "ASYNCFC_TEST_SECRET" not in env
    assert "CHOSEN=yes" in env


async def test_no_docker_socket_inside(box: DockerSandbox) -> None:
    found = await box.exec("ls /var/run/docker.sock /run/docker.sock 2>&1; true")
    assert "No such file" in found.output


async def test_container_removed_after_close(docker_image: str, tmp_path: Path) -> None:
    session = _session()
    sb = DockerSandbox(_workspace(tmp_path), session_id=session, config=TEST_CONFIG)
    async with sb:
        snap = await sb.snapshot(1)
        assert len(await _containers(session)) == 1
    assert await _containers(session) == []
    assert snap.host_path is not None and not snap.host_path.parent.exists()
    await sb.close()  # idempotent


async def test_container_removed_after_cancelling_a_running_exec(
    docker_image: str, tmp_path: Path
) -> None:
    session = _session()
    entered = asyncio.Event()

    async def work() -> None:
        async with DockerSandbox(_workspace(tmp_path), session_id=session, config=TEST_CONFIG) as sb:
            entered.set()
            await sb.exec("sleep 305")

    task = asyncio.create_task(work())
    await asyncio.wait_for(entered.wait(), 30)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _containers(session) == []


async def test_died_container_is_reported_and_a_restart_goes_on(box: DockerSandbox) -> None:
    running = asyncio.create_task(box.exec("sleep 306"))
    await _until_running(box, "sleep 306")
    assert box.container_id is not None
    await asyncio.to_thread(connect().api.kill, box.container_id)
    with pytest.raises(SandboxDied, match=r"stopped \(exit code 137, killed\)") as info:
        await running
    assert "\n" not in str(info.value)
    with pytest.raises(SandboxDied):
        await box.exec("true")  # stays dead until revived
    await revive(box)
    assert (await box.exec("cat pkg/mod.py")).output == "VALUE = 1\n"
    assert len(await _containers(box.session_id)) == 1


async def test_removed_container_is_reported(box: DockerSandbox) -> None:
    assert box.container_id is not None
    await asyncio.to_thread(connect().api.remove_container, box.container_id, force=True)
    with pytest.raises(SandboxDied, match=r"removed|stopped"):
        await box.exec("true")


async def test_missing_image_says_so(tmp_path: Path, docker_image: str) -> None:
    config = SandboxConfig(image="asyncfc-agent-sandbox:no-such-tag")
    with pytest.raises(ImageMissing, match=r"no-such-tag.*pull or build"):
        async with DockerSandbox(_workspace(tmp_path), session_id=_session(), config=config):
            pass
    assert not await asyncio.to_thread(lambda: list(tmp_path.glob(".snapshots-*")))


async def test_image_without_python_fails_clearly(tmp_path: Path, docker_image: str) -> None:
    client = connect()
    tag = "asyncfc-agent-test:no-python"
    await asyncio.to_thread(
        client.api.import_image_from_data, _empty_tar(), repository=tag.split(":")[0], tag="no-python"
    )
    try:
        config = SandboxConfig(image=tag, start_timeout_s=5)
        with pytest.raises(SandboxError, match="needs python3"):
            async with DockerSandbox(_workspace(tmp_path), session_id=_session(), config=config):
                pass
    finally:
        await asyncio.to_thread(client.api.remove_image, tag, force=True)


def _empty_tar() -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("etc")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    return buffer.getvalue()


async def test_future_isolation_lends_a_sibling(docker_image: str, tmp_path: Path) -> None:
    config = SandboxConfig(isolation="future", memory="256m")
    async with DockerSandbox(_workspace(tmp_path), session_id=_session(), config=config) as sb:
        snap = await sb.snapshot(1)
        async with future_sandbox(sb) as lent:
            assert lent is not sb
            assert (await lent.exec("cat pkg/mod.py", cwd=snap.path)).output == "VALUE = 1\n"
            assert sorted(c.role for c in await _containers(sb.session_id)) == ["future", "task"]
        assert [c.role for c in await _containers(sb.session_id)] == ["task"]
        assert snap.host_path is not None and snap.host_path.exists()  # the sibling shares it
        await sb.remove_snapshot(snap)


async def test_git_reads_work_in_a_worktree_but_cannot_write(
    docker_image: str, tmp_path: Path
) -> None:
    def git(cwd: Path, *args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=cwd, check=True, capture_output=True)

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.txt").write_text("one\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-qm", "first")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "agent")
    async with DockerSandbox(tmp_path / "wt", session_id=_session(), config=TEST_CONFIG,
                             git_dir=repo / ".git" / "worktrees" / "wt") as sb:
        (sb.host_workspace / "a.txt").write_text("two\n")
        reads = await sb.exec("git log --format=%s; git status --short")
        assert reads.output.splitlines() == ["first", " M a.txt"], reads.output
        write = await sb.exec("git commit -qam sneaky")
        assert write.exit_code != 0 and "Read-only file system" in write.output
        swap = await sb.exec("rm -f .git; mv .git elsewhere; echo 'gitdir: /etc' > .git; cat .git")
        assert swap.output.splitlines()[-1].startswith("gitdir: "), swap.output
        assert (tmp_path / "wt" / ".git").read_text().startswith(f"gitdir: {repo}")


async def test_a_planted_gitdir_is_never_mounted(docker_image: str, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.mkdir()
    (secret / "key").write_text("hunter2\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".git").write_text(f"gitdir: {secret}\n")  # what a command could have written
    async with DockerSandbox(ws, session_id=_session(), config=TEST_CONFIG) as sb:
        seen = await sb.exec(f"cat {secret}/key; ls {secret}")
        assert "hunter2" not in seen.output and seen.exit_code != 0


async def test_revive_of_a_sandbox_never_started_starts_it(
    docker_image: str, tmp_path: Path
) -> None:
    sb = DockerSandbox(_workspace(tmp_path), session_id=_session(), config=TEST_CONFIG)
    try:
        await revive(sb)
        assert (await sb.exec("echo up")).output == "up\n"
    finally:
        await sb.close()
    assert await _containers(sb.session_id) == []


async def test_close_while_starting_leaves_nothing(docker_image: str, tmp_path: Path) -> None:
    sb = DockerSandbox(_workspace(tmp_path), session_id=_session(), config=TEST_CONFIG)
    created, go_on = threading.Event(), threading.Event()
    create = sb._create

    def create_and_hold() -> str:  # the start stops between creating the container and using it
        container: str = create()
        created.set()
        go_on.wait(120)
        return container

    sb._create = create_and_hold  # type: ignore[method-assign]
    starting = asyncio.create_task(sb.start())
    try:
        assert await asyncio.to_thread(created.wait, 120), "the container was never created"
        assert await _containers(sb.session_id)
    finally:
        asyncio.get_running_loop().call_soon(go_on.set)  # once close() has begun
        await sb.close()
    with pytest.raises(SandboxError, match="closed while it started"):
        await starting
    assert await _containers(sb.session_id) == []
    assert not await asyncio.to_thread(lambda: list(tmp_path.glob(".snapshots-*")))
