"""Settings of the sandboxes. Every default is the safe choice; loosen one on purpose."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Isolation = Literal["task", "future"]

_SIZE = re.compile(r"^\d+[bkmg]?$", re.IGNORECASE)
_USER = re.compile(r"^\d+(:\d+)?$")


class SandboxConfigError(ValueError):
    """A setting of the ``sandbox`` section is not valid."""


@dataclass(frozen=True)
class SandboxConfig:
    """Settings of the Docker sandbox (the local sandbox keeps only the disk reserves)."""

    #: Image the containers run; None means the default image, built by
    #: ``asyncfc-agent sandbox build``. A per-repo image needs python3 and /bin/sh.
    image: str | None = None
    #: Docker network mode. "none" keeps commands offline; "bridge" lets them out.
    network: str = "none"
    #: Memory limit of a container (docker syntax: 512m, 2g). Swap is not added on top.
    memory: str = "2g"
    #: CPUs a container may use (fractions allowed).
    cpus: float = 2.0
    #: Processes and threads a container may have at once; stops fork bombs.
    pids_limit: int = 512
    #: "uid:gid" commands run as; None picks the invoking user, or uid 10001 under root.
    user: str | None = None
    #: "task": one container per task. "future": long snapshot futures (test suites)
    #: also get a sibling container each, so they can run side by side.
    isolation: Isolation = "task"
    #: Size of the tmpfs at /tmp (docker syntax). Its pages count against ``memory``.
    tmp_size: str = "512m"
    #: Make the image's filesystem read-only; the workspace and /tmp stay writable.
    read_only_root: bool = True
    #: Variables set in the container. The host environment is never passed in.
    env: Mapping[str, str] = field(default_factory=dict)
    #: Where the workspace is mounted in the container.
    workdir: str = "/workspace"
    #: When the workspace is a git worktree, mount the repository's git directory
    #: read-only at its own path, so git status, diff and log work in the sandbox.
    mount_git: bool = True
    #: Seconds to wait for a container to come up.
    start_timeout_s: float = 30.0
    #: Seconds ``close`` may take to remove a container before it gives up.
    close_timeout_s: float = 10.0
    #: Docker engine to use; None reads DOCKER_HOST, else the local socket.
    docker_host: str | None = None
    #: Largest file a command may write (docker syntax); also bounds sparse files. A
    #: command past it is killed (SIGXFSZ) and fails with the reason.
    max_file_size: str = "1g"
    #: Free space kept on the disks of the workspace and the snapshots: below it the
    #: running commands are stopped and fail with the reason, and snapshots are refused.
    #: The local sandbox keeps it too.
    disk_reserve: str = "1g"
    #: Free inodes kept on those disks, the same way.
    inode_reserve: int = 50_000
    #: Files (inodes) a command may add to those disks while it runs; a command creating
    #: millions is stopped. 0: no limit.
    max_new_files: int = 250_000

    def __post_init__(self) -> None:
        for name in ("memory", "tmp_size", "max_file_size", "disk_reserve"):
            if not _SIZE.match(getattr(self, name)):
                raise SandboxConfigError(f"sandbox.{name}: {getattr(self, name)!r} is not a size")
        if self.cpus <= 0:
            raise SandboxConfigError(f"sandbox.cpus must be positive, not {self.cpus}")
        for name in ("inode_reserve", "max_new_files"):
            if getattr(self, name) < 0:
                raise SandboxConfigError(f"sandbox.{name} must not be negative, not {getattr(self, name)}")
        if self.pids_limit < 16:
            raise SandboxConfigError(f"sandbox.pids_limit {self.pids_limit} is too low to run a shell")
        if self.user is not None and not _USER.match(self.user):
            raise SandboxConfigError(f"sandbox.user: give numeric uid:gid, not {self.user!r}")
        if self.isolation not in ("task", "future"):
            raise SandboxConfigError(f"sandbox.isolation: {self.isolation!r} is not task or future")
        if not self.workdir.startswith("/"):
            raise SandboxConfigError(f"sandbox.workdir {self.workdir!r} must be absolute")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SandboxConfig:
        """Build from a config file's ``sandbox`` section; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SandboxConfigError(f"unknown sandbox setting(s): {', '.join(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise SandboxConfigError(f"sandbox settings: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """For the run record."""
        data = dataclasses.asdict(self)
        data["env"] = dict(self.env)
        return data


def size_in_bytes(size: str) -> int:
    """``"512m"`` -> 536870912."""
    units = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    last = size[-1].lower()
    return int(size[:-1]) * units[last] if last in units else int(size)
