"""The Docker sandbox: one container per task, the workspace bind-mounted into it.

The container's main process is the runner (``runner.py``): commands cost a fork instead
of a ``docker exec``, and each runs in a process group of its own that a timeout or a
cancel kills as a whole. The host talks to the runner over the container's attach
stream; when the host process goes away, the runner's stdin ends and it stops every
command and the container with it.

What the container is made of is in ``docker_spec.py``; the host's side (ownership of
the workspace) in ``docker_host.py``; why a container died in ``docker_exit.py``.

Snapshots are copies made on the host (reflinks where the filesystem has them) into a
folder beside the workspace that is mounted at ``/snapshots``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import shutil
import signal
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .base import (
    DEFAULT_OUTPUT_LIMIT,
    ExecResult,
    OutputCallback,
    Sandbox,
    SandboxDied,
    SandboxError,
    SandboxLimit,
    Snapshot,
)
from .channel import Channel, Command
from .config import SandboxConfig
from .containers import remove_container
from .diskguard import DiskGuard
from .docker_exit import inspect_death
from .docker_host import hand_over, resolve_user, snapshot_root_beside
from .docker_spec import SNAPSHOTS, ContainerSpec, container_name, create_container
from .engine import ImageMissing, brief, connect, image_id
from .image import default_image, missing_image_message
from .local import LocalSandbox
from .output import OutputBuffer

_KILL_GRACE_S = 0.5
#: Exit statuses of a command killed by SIGXFSZ: by the signal, or its shell's report.
_FILE_TOO_LARGE = (-signal.SIGXFSZ, 128 + signal.SIGXFSZ)


class DockerSandbox:
    """Commands in a container of their own; see the module's docstring."""

    kind = "docker"

    def __init__(
        self,
        workspace: Path,
        *,
        session_id: str,
        config: SandboxConfig | None = None,
        role: str = "task",
        snapshot_root: Path | None = None,
        git_dir: Path | None = None,
    ) -> None:
        self.host_workspace = workspace.resolve()
        #: The worktree's git directory as the host recorded it when it made the worktree
        #: (never read from the workspace's ``.git``, which commands can rewrite).
        self.git_dir = git_dir
        self.config = config or SandboxConfig()
        self.workdir = self.config.workdir
        self.session_id = session_id
        self.role = role
        self.user, self.file_owner = resolve_user(self.config.user)
        self.container_id: str | None = None
        self.container_name = container_name(session_id)
        self._shared_snapshot_root = snapshot_root
        self._snapshot_root: Path | None = None
        self._copier: LocalSandbox | None = None
        self._client: Any = None
        self._channel: Channel | None = None
        self._shell = "/bin/sh"
        self._start_lock = asyncio.Lock()
        self._guard = DiskGuard.of(self.config, [self.host_workspace])
        self._death: str | None = None
        self._closed = False
        self.image_id: str | None = None

    @property
    def image(self) -> str:
        return self.config.image or default_image()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        async with self._start_lock:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if self._channel is None:
                await self._boot()
            if self._closed:  # close() ran while the container came up: it missed it
                await asyncio.shield(self._release())
                raise SandboxError("the sandbox was closed while it started")

    async def _boot(self) -> None:
        if not self.host_workspace.is_dir():
            raise SandboxError(f"workspace {self.host_workspace} is not a directory")
        self._client = await asyncio.to_thread(connect, self.config.docker_host)
        await self._check_image()
        await self._prepare_host()
        try:
            await self._launch()
        except BaseException:
            # nobody calls close() after a failed __aenter__: leave nothing behind
            await asyncio.shield(self._drop_snapshots())
            raise

    async def restart(self) -> None:
        """Replace the container (dead or alive) by a fresh one; workspace and snapshots stay.

        What the caller does after ``exec`` raised ``SandboxDied``.
        """
        async with self._start_lock:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            await self._discard_container()
            self._death = None
            self.container_name = container_name(self.session_id)
            if self._snapshot_root is None:  # never started, or its start failed
                await self._boot()
            else:
                await self._launch()

    async def close(self) -> None:
        """Remove the container and the snapshots; finishes even when cancelled (bounded)."""
        if self._closed:
            return
        self._closed = True
        release = asyncio.ensure_future(self._release_after_start())
        try:
            await asyncio.shield(release)
        except asyncio.CancelledError:
            await asyncio.wait({release}, timeout=self.config.close_timeout_s)
            raise

    async def _release_after_start(self) -> None:
        # A start under way sees the sandbox closed and releases what it made; releasing
        # beside it would miss the container it has yet to create, and the snapshots folder
        # the engine makes again for the container's mount when it starts it.
        async with self._start_lock:
            await self._release()

    async def _release(self) -> None:
        await self._guard.close()
        if self._channel is not None:
            self._channel.close()
        with contextlib.suppress(SandboxError, TimeoutError):
            async with asyncio.timeout(self.config.close_timeout_s):
                await self._discard_container()
        await self._drop_snapshots()

    async def _drop_snapshots(self) -> None:
        if self._copier is not None:
            await self._copier.close()
        if self._snapshot_root is not None and self._shared_snapshot_root is None:
            await asyncio.to_thread(shutil.rmtree, self._snapshot_root, True)
        self._copier = None
        self._snapshot_root = None

    async def _check_image(self) -> None:
        found = await asyncio.to_thread(image_id, self._client, self.image)
        if found is None:
            raise ImageMissing(missing_image_message(self.image, custom=self.config.image is not None))
        self.image_id = found  # what memoized results are keyed by (a tag may move)

    async def _prepare_host(self) -> None:
        """Hand the workspace to the container's user; make the snapshots folder."""
        if self._snapshot_root is not None:
            return
        if self.file_owner is not None and self.role == "task":
            await asyncio.to_thread(hand_over, self.host_workspace, self.file_owner)
        root = self._shared_snapshot_root
        if root is None:
            root = await asyncio.to_thread(snapshot_root_beside, self.host_workspace)
        if self.file_owner is not None:
            os.chown(root, *self.file_owner)
        self._snapshot_root = root
        self._guard.watch_also(root)
        self._copier = LocalSandbox(self.host_workspace, env={}, snapshot_root=root, guard=self._guard)

    async def _launch(self) -> None:
        try:
            self.container_id = await asyncio.to_thread(self._create)
            sock = await asyncio.to_thread(
                self._client.api.attach_socket,
                self.container_id,
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1},
            )
            self._channel = Channel(sock)
            await asyncio.to_thread(self._client.api.start, self.container_id)
            info = await self._channel.open(self.config.start_timeout_s)
        except BaseException as exc:
            reason = await asyncio.shield(self._failed_start(exc))
            if isinstance(exc, Exception):
                raise SandboxError(reason) from None
            raise
        self._shell = str(info.get("shell") or "/bin/sh")

    async def _failed_start(self, exc: BaseException) -> str:
        """Clean up after a failed launch; the one-line reason."""
        runner_ended = self._channel is not None and self._channel.lost
        detail = self._channel.stderr_tail.splitlines()[-1:] if self._channel else []
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        with contextlib.suppress(SandboxError):
            await self._discard_container()
        if self._closed:
            return "the sandbox was closed while it started"
        why = detail[0] if detail else brief(exc)
        runner_missing = runner_ended or "executable file not found" in why
        hint = " (the image needs python3 and /bin/sh)" if runner_missing else ""
        return f"cannot start a container of {self.image}{hint}: {why}"

    def _create(self) -> str:
        assert self._snapshot_root is not None
        spec = ContainerSpec(
            image=self.image,
            name=self.container_name,
            user=self.user,
            config=self.config,
            session_id=self.session_id,
            role=self.role,
            workspace=self.host_workspace,
            snapshot_root=self._snapshot_root,
            owns_snapshots=self._shared_snapshot_root is None,
            git_dir=self.git_dir,
        )
        return create_container(self._client, spec)

    async def _discard_container(self) -> None:
        if self.container_id is not None and self._client is not None:
            await asyncio.to_thread(remove_container, self._client, self.container_id)
        self.container_id = None

    # -- commands -----------------------------------------------------------------------

    async def exec(
        self,
        command: str | Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
        on_output: OutputCallback | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> ExecResult:
        channel = await self._live_channel()
        argv = [self._shell, "-c", command] if isinstance(command, str) else list(command)
        output = OutputBuffer(output_limit, on_output)
        started = time.monotonic()
        try:
            async with self._guard.watch():
                running = await channel.run(argv, cwd=cwd or self.workdir, env=env or {}, output=output)
                code = await _wait(running, timeout_s)
        except SandboxDied as exc:
            raise SandboxDied(await self._death_reason()) from exc
        finally:
            output.finish()
        if running.oom:
            raise SandboxLimit(
                f"stopped: the command ran out of memory (limit {self.config.memory}) and was killed"
            )
        if code in _FILE_TOO_LARGE:
            raise SandboxLimit(
                f"stopped: the command wrote a file past {self.config.max_file_size} "
                "(sandbox.max_file_size) and was killed"
            )
        text, truncated = output.text()
        return ExecResult(
            exit_code=code,
            output=text,
            duration_s=time.monotonic() - started,
            timed_out=code is None,
            truncated=truncated,
        )

    async def _live_channel(self) -> Channel:
        if self._closed:
            raise SandboxError("the sandbox is closed")
        await self.start()
        if self._channel is None or self._channel.lost:
            raise SandboxDied(await self._death_reason())
        return self._channel

    async def _death_reason(self) -> str:
        if self._closed:
            return "the sandbox was closed under the command"
        if self._death is None:
            self._death = await asyncio.to_thread(self._inspect_death)
        return self._death

    def _inspect_death(self) -> str:
        return inspect_death(self._client, self.container_id, self.container_name, self.config.memory)

    # -- snapshots ----------------------------------------------------------------------

    async def snapshot(self, revision: int) -> Snapshot:
        await self.start()
        assert self._copier is not None
        copy = await self._copier.snapshot(revision)
        assert copy.host_path is not None
        if self.file_owner is not None:
            # not through a symlink: the sandbox sees /snapshots and may have swapped it
            os.chown(copy.host_path, *self.file_owner, follow_symlinks=False)
        return Snapshot(
            path=posixpath.join(SNAPSHOTS, copy.host_path.name),
            host_path=copy.host_path,
            revision=revision,
            meta=copy.meta,
        )

    async def remove_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.host_path is not None:
            await asyncio.to_thread(shutil.rmtree, snapshot.host_path, True)

    # -- isolation="future" ---------------------------------------------------------------

    async def sibling(self) -> DockerSandbox:
        """A started container beside this one: same workspace, same snapshots, same labels."""
        await self.start()
        box = DockerSandbox(
            self.host_workspace,
            session_id=self.session_id,
            config=self.config,
            role="future",
            snapshot_root=self._snapshot_root,
            git_dir=self.git_dir,
        )
        try:
            await box.start()
        except BaseException:
            await box.close()
            raise
        return box

    @contextlib.asynccontextmanager
    async def future_sandbox(self) -> AsyncIterator[Sandbox]:
        """Where a long snapshot future runs: a sibling with ``isolation="future"``, else here."""
        if self.config.isolation != "future":
            yield self
            return
        box = await self.sibling()
        try:
            yield box
        finally:
            await box.close()


async def _wait(running: Command, timeout_s: float | None) -> int | None:
    """The command's exit status; None when it ran out of time (its tree is killed)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await running.wait()
    except TimeoutError:
        await asyncio.shield(running.kill(grace_s=_KILL_GRACE_S))
        return None
    except BaseException:
        await asyncio.shield(running.kill(grace_s=_KILL_GRACE_S))
        raise
