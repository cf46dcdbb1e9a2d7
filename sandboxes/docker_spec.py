"""What a sandbox container is made of: its command, environment, mounts and limits.

Every default is the locked-down one (see ``SandboxConfig``): no network, a non-root
user, memory, CPU and pids limits, a read-only root filesystem with the workspace, the
snapshots and a tmpfs /tmp writable, no host environment, no Docker socket, no
capabilities.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import SandboxConfig, size_in_bytes
from .containers import owner_labels

#: Where snapshots appear in the container.
SNAPSHOTS = "/snapshots"
#: Where the runner script is mounted (read-only) in the container.
RUNNER = "/opt/asyncfc-agent/runner.py"
RUNNER_HOST = Path(__file__).with_name("runner.py")


@dataclass(frozen=True)
class ContainerSpec:
    """One container to create."""

    image: str
    name: str
    user: str
    config: SandboxConfig
    session_id: str
    role: str
    workspace: Path
    snapshot_root: Path
    #: Whether the snapshots folder is this container's own (``prune`` deletes it with it).
    owns_snapshots: bool
    #: The worktree's git directory as the host recorded it (never read from the
    #: workspace's ``.git``, which commands can rewrite); None for a plain directory.
    git_dir: Path | None = None


def create_container(client: Any, spec: ContainerSpec) -> str:
    """Create (not start) the container; its id. Blocks."""
    api = client.api
    config = api.create_container_config(
        spec.image,
        # as the entrypoint: an image's own (a project may name its image) would start
        # first, as PID 1, holding the attach stream the runner speaks on
        entrypoint=["python3", "-I", "-S", "-B", "-u", RUNNER],
        command=[],
        user=spec.user,
        working_dir=spec.config.workdir,
        environment=environment(spec.config),
        labels=owner_labels(
            spec.session_id,
            role=spec.role,
            workspace=spec.workspace,
            snapshots=spec.snapshot_root if spec.owns_snapshots else None,
        ),
        stdin_open=True,  # with attach: StdinOnce, so the runner hears its owner hang up
        host_config=api.create_host_config(**host_config(spec)),
    )
    created = api.create_container_from_config(config, spec.name)
    return str(created["Id"])


def environment(config: SandboxConfig) -> dict[str, str]:
    # the image's own ENV (PATH, ...) applies underneath; nothing comes from the host
    return {
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        # the mounted git directory belongs to another uid; git refuses it otherwise
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
        **config.env,
    }


def host_config(spec: ContainerSpec) -> dict[str, Any]:
    from docker.types import LogConfig, Ulimit

    cfg = spec.config
    max_file = size_in_bytes(cfg.max_file_size)
    binds = {
        str(spec.workspace): {"bind": cfg.workdir, "mode": "rw"},
        str(spec.snapshot_root): {"bind": SNAPSHOTS, "mode": "rw"},
        str(RUNNER_HOST): {"bind": RUNNER, "mode": "ro"},
    }
    binds.update(git_binds(spec))
    listed = [f"{host}:{b['bind']}:{b['mode']}" for host, b in binds.items()]
    # one host file over many: docker-py's mapping has room for one target per source
    listed += [f"{os.devnull}:{target}:ro" for target in hidden_configs(spec)]
    return {
        "binds": listed,
        "network_mode": cfg.network,
        "mem_limit": cfg.memory,
        "memswap_limit": cfg.memory,
        "nano_cpus": int(min(cfg.cpus, os.cpu_count() or 1) * 1e9),
        "pids_limit": cfg.pids_limit,
        # a file past it kills its writer: no sparse terabyte for the host to copy or diff
        "ulimits": [Ulimit(name="fsize", soft=max_file, hard=max_file)],
        "read_only": cfg.read_only_root,
        "tmpfs": {"/tmp": f"rw,exec,nosuid,nodev,size={cfg.tmp_size}"},
        # no docker-init: the runner is PID 1, so no other process of the commands' uid
        # holds the attach stream (a command could open its fds and forge events)
        "init": False,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        # output goes through the attach stream; a log would only fill the disk
        "log_config": LogConfig(type=LogConfig.types.NONE),
    }


def git_binds(spec: ContainerSpec) -> dict[str, dict[str, str]]:
    """The workspace's ``.git`` over itself and the repository's git directory, both
    read-only: a command can neither redirect host git nor rewrite refs, config or hooks.

    ``.git`` is a worktree's file, or (``sandbox run --in-place``) the repository's own
    directory when ``git_dir`` is that very directory.
    """
    if spec.git_dir is None:
        return {}
    binds = {}
    dotgit = spec.workspace / ".git"
    over_itself = {"bind": posixpath.join(spec.config.workdir, ".git"), "mode": "ro"}
    # a symlink would be followed by the engine: only what git made is bound
    if _plain_file(dotgit):
        binds[str(dotgit)] = over_itself
    elif dotgit == spec.git_dir and _plain_dir(dotgit):
        return {str(dotgit): over_itself}
    if spec.config.mount_git:
        common = trusted_common_dir(spec.git_dir)
        binds[str(common)] = {"bind": str(common), "mode": "ro"}
    return binds


#: Submodules nest their git directories in ``modules/<name>/``; a bound on the walk.
_MAX_CONFIGS = 64


def hidden_configs(spec: ContainerSpec) -> list[str]:
    """Paths in the container of the git configs that an empty file is mounted over.

    A config may hold credentials (a token in a remote's URL, the authorization header a
    CI checkout leaves in ``http.<url>.extraheader``, in submodules' configs too), and
    whatever a command reads can reach the model provider and the record. Git in the
    sandbox only reads history, which needs no config (a repository with format
    extensions, such as SHA-256 objects, is not readable there).
    """
    if spec.git_dir is None:
        return []
    dotgit = spec.workspace / ".git"
    if dotgit == spec.git_dir and _plain_dir(dotgit):  # --in-place
        host, inside = dotgit, posixpath.join(spec.config.workdir, ".git")
    elif spec.config.mount_git:
        host = trusted_common_dir(spec.git_dir)
        inside = str(host)
    else:
        return []
    found = [""] if _plain_file(host / "config") else []
    # the user's git directory, not the sandbox's: walking it follows nothing of theirs
    for folder, dirs, files in os.walk(host / "modules"):
        dirs.sort()
        rel = os.path.relpath(folder, host)
        if "config" in files and len(found) < _MAX_CONFIGS and _plain_file(Path(folder, "config")):
            found.append(rel)
        dirs[:] = [d for d in dirs if d not in ("objects", "refs", "logs", "hooks")]
    return [posixpath.join(inside, rel, "config") if rel else posixpath.join(inside, "config")
            for rel in found]


def trusted_common_dir(git_dir: Path) -> Path:
    """The repository's git directory, from a worktree's git directory the host recorded."""
    link = git_dir / "commondir"
    if not link.is_file():
        return git_dir
    return (git_dir / link.read_text().strip()).resolve()


def _plain_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _plain_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def container_name(session_id: str) -> str:
    safe = re.sub(r"[^a-zA-Z0-9_.-]+", "-", session_id).strip("-.")[:32] or "session"
    return f"asyncfc-{safe}-{uuid.uuid4().hex[:6]}"
