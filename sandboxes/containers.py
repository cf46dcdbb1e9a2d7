"""Labels on sandbox containers, and finding and removing those of dead sessions.

Every container names its owner: the session, the host and the pid of the process that
made it, plus that process's start time, so a recycled pid is not taken for the owner.
A container whose owner is gone (on this host) is an orphan: ``prune`` removes it, and
a new session calls ``reap_orphans`` first thing.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import SandboxError
from .engine import brief, connect

PREFIX = "asyncfc-agent"
LABEL_SESSION = f"{PREFIX}.session"
LABEL_HOST = f"{PREFIX}.host"
LABEL_PID = f"{PREFIX}.pid"
LABEL_PID_START = f"{PREFIX}.pid-start"
LABEL_CREATED = f"{PREFIX}.created"
LABEL_ROLE = f"{PREFIX}.role"
LABEL_WORKSPACE = f"{PREFIX}.workspace"
LABEL_SNAPSHOTS = f"{PREFIX}.snapshots"

#: Name prefixes of snapshot folders that ``prune`` may delete with their container.
SNAPSHOT_DIR_PREFIXES = (".snapshots-", "asyncfc-snapshots-")


def owner_labels(
    session_id: str, *, role: str, workspace: Path, snapshots: Path | None = None
) -> dict[str, str]:
    """The labels of a container made now by this process.

    ``snapshots`` is the host folder of snapshots the container owns: ``prune`` deletes
    it with the container, when the owner died before it could.
    """
    pid = os.getpid()
    labels = {
        LABEL_SESSION: session_id,
        LABEL_HOST: socket.gethostname(),
        LABEL_PID: str(pid),
        LABEL_PID_START: process_start(pid),
        LABEL_CREATED: time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        LABEL_ROLE: role,
        LABEL_WORKSPACE: str(workspace),
    }
    if snapshots is not None:
        labels[LABEL_SNAPSHOTS] = str(snapshots)
    return labels


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; the fields after it do not
    return stat.rpartition(")")[2].split()


def process_start(pid: int) -> str:
    """When a process started (clock ticks since boot), or "" where /proc cannot tell."""
    fields = _stat_fields(pid)
    return fields[19] if fields else ""


def process_alive(pid: int, started: str = "") -> bool:
    """Whether process ``pid`` runs (and is the one that started at ``started``, if given).

    A zombie counts as dead: where PID 1 does not reap orphans (a container without an
    init), a killed process stays a zombie for good.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc to ask: it answered the signal
    return fields[0] not in ("Z", "X") and (not started or fields[19] == started)


def owner_alive(labels: dict[str, str]) -> bool | None:
    """Whether the owning process still runs; None when it is on another host."""
    if labels.get(LABEL_HOST) != socket.gethostname():
        return None
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    return process_alive(pid, labels.get(LABEL_PID_START, ""))


@dataclass(frozen=True)
class SandboxContainer:
    id: str
    name: str
    status: str  # created, running, exited, ...
    session: str
    role: str
    host: str
    pid: str
    created: str
    owner_alive: bool | None  # None: owned by a process on another host
    snapshots: str = ""  # host folder of its snapshots, when it owns one

    @property
    def orphan(self) -> bool:
        return self.owner_alive is False


def list_containers(client: Any, *, session_id: str | None = None) -> list[SandboxContainer]:
    """Every sandbox container on the engine (of one session, if given). Blocks."""
    label = LABEL_SESSION if session_id is None else f"{LABEL_SESSION}={session_id}"
    found = client.api.containers(all=True, filters={"label": label})
    return [_describe(c) for c in found]


def _describe(raw: dict[str, Any]) -> SandboxContainer:
    labels: dict[str, str] = raw.get("Labels") or {}
    names = raw.get("Names") or ["?"]
    return SandboxContainer(
        id=str(raw["Id"]),
        name=str(names[0]).lstrip("/"),
        status=str(raw.get("State", "")),
        session=labels.get(LABEL_SESSION, ""),
        role=labels.get(LABEL_ROLE, ""),
        host=labels.get(LABEL_HOST, ""),
        pid=labels.get(LABEL_PID, ""),
        created=labels.get(LABEL_CREATED, ""),
        owner_alive=owner_alive(labels),
        snapshots=labels.get(LABEL_SNAPSHOTS, ""),
    )


def remove_container(client: Any, container_id: str) -> None:
    """Kill and remove; a container already gone is fine. Blocks."""
    import docker.errors

    try:
        client.api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise SandboxError(f"cannot remove container {container_id[:12]}: {brief(exc)}") from None
    except (OSError, docker.errors.DockerException) as exc:  # the engine does not answer
        raise SandboxError(f"cannot remove container {container_id[:12]}: {brief(exc)}") from None


def prune(
    client: Any, *, all_sessions: bool = False, keep_session: str | None = None
) -> list[SandboxContainer]:
    """Remove the containers of dead sessions (every session with ``all_sessions``).

    Containers of ``keep_session`` stay in any case. Returns what was removed. Blocks.
    """
    removed = []
    for container in list_containers(client):
        if container.session == keep_session:
            continue
        if all_sessions or container.orphan:
            remove_container(client, container.id)
            _remove_snapshots(container)
            removed.append(container)
    return removed


def _remove_snapshots(container: SandboxContainer) -> None:
    path = Path(container.snapshots)
    if container.owner_alive is None or not path.name.startswith(SNAPSHOT_DIR_PREFIXES):
        return  # another host's folder, or not one of ours
    shutil.rmtree(path, ignore_errors=True)


def remove_session(session_id: str, *, docker_host: str | None = None) -> list[str]:
    """Remove every container of one session, e.g. at its end. Blocks.

    Catches what closing each sandbox left behind: a container that could not be
    removed while the engine was away (and is back now). Quiet like ``reap_orphans``.
    """
    from docker.errors import DockerException

    try:
        client = connect(docker_host)
        found = list_containers(client, session_id=session_id)
        for container in found:
            remove_container(client, container.id)
    except (SandboxError, OSError, DockerException):
        return []
    return [c.name for c in found]


def reap_orphans(*, session_id: str | None = None, docker_host: str | None = None) -> list[str]:
    """Remove containers left by dead sessions; for the start of a session. Blocks.

    Quiet by design: without a reachable engine there is nothing to reap, and a
    container that resists removal is left to ``asyncfc-agent sandbox prune``.
    Returns the names of the containers removed.
    """
    try:
        client = connect(docker_host)
        return [c.name for c in prune(client, keep_session=session_id)]
    except SandboxError:
        return []
