"""Where a run's commands run: the sandbox it gets, and what a Docker run needs first.

"auto" is Docker whenever an engine answers, never a silent fall back to the local
sandbox; a Docker run first removes the containers of dead sessions and makes sure the
default image is there (built once on a machine that lacks it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..sandboxes.base import Sandbox, SandboxError

#: Seconds between two progress lines of an image build shown in the run's log.
IMAGE_PROGRESS_S = 5.0


def open_sandbox(
    kind: str, workspace: Path, session_id: str, options: dict[str, Any], git_dir: Path | None
) -> Sandbox:
    """A sandbox of ``kind`` over ``workspace`` (not started); "auto" picks docker when usable.

    ``git_dir`` is the trusted git directory of a worktree (None for a copy).
    """
    from ..sandboxes.config import SandboxConfig, SandboxConfigError
    from ..sandboxes.factory import make_sandbox

    try:
        config = SandboxConfig.from_mapping(options)
    except SandboxConfigError as exc:
        raise SandboxError(str(exc)) from None
    if kind == "auto":
        kind = "docker" if engine_reachable(config.docker_host) else "local"
    return make_sandbox(kind, workspace, session_id=session_id, config=config, git_dir=git_dir)


def engine_reachable(docker_host: str | None = None) -> bool:
    """Whether a Docker engine answers: then "auto" is Docker (a missing default image
    is built), never a silent fall back to the local sandbox."""
    from ..sandboxes import engine

    try:
        engine.connect(docker_host)
    except SandboxError:
        return False
    return True


async def reap_containers(session_id: str, docker_host: str | None) -> list[str]:
    """Remove containers left by sessions whose process is gone (a kill -9, a crash);
    the lines to tell the user."""
    from ..sandboxes.containers import reap_orphans

    reaped = await asyncio.to_thread(reap_orphans, session_id=session_id, docker_host=docker_host)
    return [f"removed {len(reaped)} container(s) of dead sessions"] if reaped else []


async def ensure_image(sandbox: Sandbox, notify: Callable[[str], None]) -> None:
    """Build the default sandbox image on a machine that does not have it yet; ``notify``
    (called from the build's thread too) gets a progress line every few seconds."""
    from ..sandboxes.image import ensure_default_image

    config = getattr(sandbox, "config", None)
    if config is None or config.image:
        return  # an image of the user's: pulling or building it is theirs to do
    last = [0.0]

    def progress(line: str) -> None:
        now = time.monotonic()
        if now - last[0] >= IMAGE_PROGRESS_S:
            last[0] = now
            notify(f"sandbox image: {line}")

    result = await asyncio.to_thread(
        ensure_default_image, progress=progress, docker_host=config.docker_host
    )
    if result.built:
        notify(f"built the sandbox image {result.image} ({result.method}) in "
               f"{result.seconds:.0f} s; later runs use it as it is")


async def remove_leftovers(session_id: str, docker_host: str | None) -> None:
    """Containers of a run that closing left (the engine was away when they died)."""
    from ..sandboxes.containers import remove_session

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(15):
            await asyncio.to_thread(remove_session, session_id, docker_host=docker_host)
