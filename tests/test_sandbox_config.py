"""SandboxConfig, the sandbox user, and the factory: no engine needed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.base import Sandbox, SandboxError
from asyncfc_agent.sandboxes.config import SandboxConfig, SandboxConfigError, size_in_bytes
from asyncfc_agent.sandboxes.docker import DockerSandbox
from asyncfc_agent.sandboxes.docker_host import UNPRIVILEGED, resolve_user
from asyncfc_agent.sandboxes.engine import EngineUnreachable
from asyncfc_agent.sandboxes.factory import future_sandbox, make_sandbox, revive
from asyncfc_agent.sandboxes.local import LocalSandbox


def test_defaults_are_the_safe_ones() -> None:
    config = SandboxConfig()
    assert config.network == "none"
    assert config.read_only_root
    assert config.user is None  # resolved to a non-root uid
    assert dict(config.env) == {}
    assert size_in_bytes(config.memory) == 2 << 30


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("memory", "lots", "not a size"),
        ("cpus", 0, "positive"),
        ("pids_limit", 3, "too low"),
        ("user", "nobody", "numeric"),
        ("isolation", "container", "task or future"),
        ("workdir", "workspace", "absolute"),
        ("disk_reserve", "plenty", "not a size"),
        ("max_file_size", "1 TB", "not a size"),
        ("inode_reserve", -1, "negative"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(field: str, value: object, words: str) -> None:
    with pytest.raises(SandboxConfigError, match=words) as info:
        SandboxConfig.from_mapping({field: value})
    assert "\n" not in str(info.value)


def test_from_mapping_refuses_unknown_keys() -> None:
    with pytest.raises(SandboxConfigError, match=r"unknown sandbox setting.*memroy"):
        SandboxConfig.from_mapping({"memroy": "1g"})
    config = SandboxConfig.from_mapping({"image": "mine:1", "env": {"A": "1"}})
    assert config.to_dict()["image"] == "mine:1"
    assert config.to_dict()["env"] == {"A": "1"}


def test_user_is_never_root_by_default() -> None:
    user, owner = resolve_user(None)
    uid = int(user.split(":")[0])
    assert uid != 0
    if os.getuid() == 0:
        assert (uid, int(user.split(":")[1])) == UNPRIVILEGED
        assert owner == UNPRIVILEGED  # the workspace is handed to that uid
    else:
        assert uid == os.getuid()
        assert owner is None  # files are the invoking user's already


def test_configured_user_is_used() -> None:
    user, owner = resolve_user("2000:3000")
    assert user == "2000:3000"
    assert owner == ((2000, 3000) if os.getuid() == 0 else None)


def test_factory_builds_both_kinds(tmp_path: Path) -> None:
    local = make_sandbox("local", tmp_path, session_id="s")
    docker = make_sandbox("docker", tmp_path, session_id="s", config=SandboxConfig(memory="1g"))
    assert isinstance(local, LocalSandbox) and isinstance(local, Sandbox)
    assert isinstance(docker, DockerSandbox) and isinstance(docker, Sandbox)
    assert docker.config.memory == "1g"
    assert docker.workdir == "/workspace"


def test_factory_takes_a_dotted_path(tmp_path: Path) -> None:
    box = make_sandbox(
        "asyncfc_agent.sandboxes.docker:DockerSandbox", tmp_path, session_id="s"
    )
    assert isinstance(box, DockerSandbox)
    with pytest.raises(SandboxError, match="unknown sandbox 'podman'"):
        make_sandbox("podman", tmp_path, session_id="s")
    with pytest.raises(SandboxError, match="cannot load sandbox"):
        make_sandbox("no.such.module:Box", tmp_path, session_id="s")


async def test_unreachable_engine_is_one_clear_line(tmp_path: Path) -> None:
    config = SandboxConfig(docker_host=f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(EngineUnreachable) as info:
        async with DockerSandbox(tmp_path, session_id="s", config=config):
            pass
    message = str(info.value)
    assert "no Docker engine reachable" in message and "--sandbox local" in message
    assert "\n" not in message
    assert not list(tmp_path.parent.glob(".snapshots-*"))


async def test_local_sandbox_passes_through_the_future_helpers(tmp_path: Path) -> None:
    async with LocalSandbox(tmp_path) as box:
        await revive(box)  # nothing to do, and no error
        async with future_sandbox(box) as lent:
            assert lent is box
            assert (await lent.exec("echo ok")).output == "ok\n"


def test_death_reasons_read_as_one_line() -> None:
    from asyncfc_agent.sandboxes.docker_exit import describe_exit

    oom = describe_exit("box", {"OOMKilled": True, "ExitCode": 137}, "2g")
    assert oom == "container box ran out of memory (limit 2g) and was killed"
    killed = describe_exit("box", {"ExitCode": 137, "Error": ""}, "2g")
    assert killed == "container box stopped (exit code 137, killed)"
    removed = describe_exit("box", {"Status": "removing", "ExitCode": 137}, "2g")
    assert removed == "container box was removed"
    failed = describe_exit("box", {"ExitCode": 1, "Error": "mount failed"}, "2g")
    assert failed == "container box stopped (exit code 1): mount failed"
