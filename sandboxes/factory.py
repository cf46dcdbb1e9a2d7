"""Picking a sandbox by name, and the few things the executor asks of any sandbox.

``kind`` is "docker", "local", or a dotted path to a class (``package.module:Class``)
taking ``(workspace, *, session_id, config)``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from .base import Sandbox, SandboxError
from .config import SandboxConfig

KINDS = ("docker", "local")


def make_sandbox(
    kind: str, workspace: Path, *, session_id: str, config: SandboxConfig | None = None,
    git_dir: Path | None = None,
) -> Sandbox:
    """A sandbox of ``workspace``, not started yet (use it as an async context manager).

    ``git_dir`` is the worktree's git directory as the host recorded it; the Docker sandbox
    mounts it (read-only) so that git works inside, and never looks for one itself.
    """
    if kind == "local":
        from .diskguard import DiskGuard
        from .local import LocalSandbox

        guard = DiskGuard.of(config or SandboxConfig(), [workspace])
        return LocalSandbox(workspace, guard=guard)
    if kind == "docker":
        from .docker import DockerSandbox

        return DockerSandbox(workspace, session_id=session_id, config=config, git_dir=git_dir)
    if ":" in kind or "." in kind:
        cls = _import(kind)
        return cast(Sandbox, cls(workspace, session_id=session_id, config=config))
    raise SandboxError(f"unknown sandbox {kind!r}: use {' or '.join(KINDS)}, or module:Class")


def _import(path: str) -> Any:
    module, _, name = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise SandboxError(f"cannot load sandbox {path!r}: {exc}") from None


async def revive(sandbox: Sandbox) -> None:
    """Get a working sandbox again after ``exec`` raised ``SandboxDied``.

    The object stays the same (the executor keeps its reference); a sandbox that cannot
    die (local) has nothing to do.
    """
    restart = getattr(sandbox, "restart", None)
    if restart is not None:
        await restart()


@contextlib.asynccontextmanager
async def future_sandbox(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    """Where a long-running snapshot future should run its commands.

    With ``isolation="future"`` a Docker sandbox lends a sibling container for the time
    of the ``async with`` (same workspace and snapshots); otherwise it is ``sandbox``.
    """
    lend = getattr(sandbox, "future_sandbox", None)
    if lend is None:
        yield sandbox
        return
    async with lend() as box:
        yield cast(Sandbox, box)
