"""The local sandbox: commands run as host subprocesses. It does not isolate anything.

Each command runs in a process group of its own, so a timeout or a cancel kills the whole
tree. Snapshots are copies of the workspace (reflinks where the filesystem allows) in a
folder beside it.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ..safefs.copy import copy_tree
from .base import (
    DEFAULT_OUTPUT_LIMIT,
    ExecResult,
    OutputCallback,
    SandboxError,
    Snapshot,
)
from .diskguard import DiskGuard
from .output import OutputBuffer

#: Entries of the workspace root left out of snapshots (large, and not what tests read).
SNAPSHOT_EXCLUDE = frozenset({".git"})

WARNING = (
    "the local sandbox runs commands directly on this machine, with your permissions "
    "and your network: it does not isolate anything. Use --sandbox docker for isolation."
)

_KILL_GRACE_S = 0.5
#: Snapshot copies made at once (one per core).
COPY_SLOTS = max(2, os.cpu_count() or 2)


def use_pidfd_child_watcher() -> bool:
    """Have asyncio wait for child processes through pidfds, in the event loop.

    Python 3.11 waits for each child in a thread of its own, and starting that thread
    blocks the loop until the thread runs: with a hundred commands starting at once the
    loop stalled for seconds. 3.12 uses pidfds by itself. Returns whether pidfds are used.
    """
    if sys.version_info >= (3, 12):
        return True
    policy = asyncio.get_event_loop_policy()
    if isinstance(getattr(policy, "_watcher", None), _PidfdWatcher):
        return True
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False  # not Linux, or a kernel without pidfds: keep the threads
    asyncio.set_child_watcher(_PidfdWatcher())
    return True


class _PidfdWatcher(asyncio.AbstractChildWatcher):
    """Waits for a child in the loop that started it: a reader on the child's pidfd.

    Unlike asyncio's own pidfd watcher of 3.11, it is not bound to one loop, so a loop
    in another thread (or the next ``asyncio.run``) can start processes too.
    """

    def add_child_handler(  # type: ignore[override]  # typeshed's signature needs TypeVarTuple
        self, pid: int, callback: Callable[..., object], *args: Any
    ) -> None:
        loop = asyncio.get_running_loop()
        pidfd = os.pidfd_open(pid)
        loop.add_reader(pidfd, self._reap, loop, pid, pidfd, callback, args)

    @staticmethod
    def _reap(
        loop: asyncio.AbstractEventLoop, pid: int, pidfd: int, callback: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            code = 255  # reaped by someone else: its status is lost
        else:
            code = os.waitstatus_to_exitcode(status)
        callback(pid, code, *args)

    def remove_child_handler(self, pid: int) -> bool:
        return True  # the reader goes when the child ends

    def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        pass

    def close(self) -> None:
        pass

    def is_active(self) -> bool:
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class LocalSandbox:
    """Host subprocesses in their own process groups."""

    kind = "local"

    def __init__(
        self,
        workspace: Path,
        *,
        env: Mapping[str, str] | None = None,
        snapshot_root: Path | None = None,
        shell: str | None = None,
        guard: DiskGuard | None = None,
    ) -> None:
        self.host_workspace = workspace.resolve()
        self.workdir = str(self.host_workspace)
        self.file_owner: tuple[int, int] | None = None
        self._env = dict(os.environ if env is None else env)
        self._env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        self._snapshot_root = snapshot_root
        self._shell = shell or ("/bin/bash" if Path("/bin/bash").exists() else "/bin/sh")
        self._running: set[asyncio.subprocess.Process] = set()
        self._snapshots: set[Path] = set()
        # copies at once: a burst of cp processes starves everything else on a small machine
        self._copy_slots = asyncio.Semaphore(COPY_SLOTS)
        use_pidfd_child_watcher()  # also for the Docker sandbox, which copies through one
        self._owned_root: Path | None = None
        #: Stops commands and copies when the disk runs low (None: no reserve kept).
        self.guard = guard
        self._closed = False

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

    async def start(self) -> None:
        if not self.host_workspace.is_dir():
            raise SandboxError(f"workspace {self.host_workspace} is not a directory")

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
        if self._closed:
            raise SandboxError("the sandbox is closed")
        argv = [self._shell, "-c", command] if isinstance(command, str) else list(command)
        full_env = {**self._env, **(env or {})}
        started = time.monotonic()
        spawn = asyncio.ensure_future(asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd or self.workdir,
            env=full_env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        ))
        try:
            proc = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            # the command may already run (and have started children of its own): a spawn
            # cancelled halfway would kill the shell alone and leave its group behind
            with contextlib.suppress(Exception):
                await self._kill(await spawn)
            raise
        self._running.add(proc)
        output = OutputBuffer(output_limit, on_output)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        async def pump() -> None:
            assert proc.stdout is not None
            while data := await proc.stdout.read(65536):
                output.feed(decoder.decode(data))
            output.feed(decoder.decode(b"", final=True))
            await proc.wait()

        timed_out = False
        try:
            async with self._guarded(), asyncio.timeout(timeout_s):
                await pump()
        except TimeoutError:
            timed_out = True
            await self._kill(proc)
        except BaseException:
            await self._kill(proc)
            raise
        finally:
            self._running.discard(proc)
            output.finish()
        text, truncated = output.text()
        return ExecResult(
            exit_code=None if timed_out else proc.returncode,
            output=text,
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
            truncated=truncated,
        )

    async def _kill(self, proc: asyncio.subprocess.Process) -> None:
        """SIGTERM the process group, then SIGKILL what is left of it."""
        await asyncio.shield(self._kill_group(proc))

    async def _kill_group(self, proc: asyncio.subprocess.Process) -> None:
        pgid = proc.pid  # start_new_session makes the child the leader of its group
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
            if sig == signal.SIGTERM:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_KILL_GRACE_S):
                        await proc.wait()
                        # the leader is gone; members of the group may live on
                        if not _group_alive(pgid):
                            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await proc.wait()

    def _guarded(self, what: str = "stopped", *, count_files: bool = True) -> contextlib.AbstractAsyncContextManager[None]:
        if self.guard is None:
            return contextlib.nullcontext()
        return self.guard.watch(what, count_files=count_files)

    def _root(self) -> Path:
        if self._snapshot_root is not None:
            self._snapshot_root.mkdir(parents=True, exist_ok=True)
            return self._snapshot_root
        if self._owned_root is None:
            # beside the workspace, so that reflinks work (same filesystem)
            parent = self.host_workspace.parent
            try:
                self._owned_root = Path(tempfile.mkdtemp(prefix=".snapshots-", dir=parent))
            except OSError:
                self._owned_root = Path(tempfile.mkdtemp(prefix="asyncfc-snapshots-"))
            if self.guard is not None:
                self.guard.watch_also(self._owned_root)
        return self._owned_root

    async def snapshot(self, revision: int) -> Snapshot:
        dest = self._root() / f"rev{revision}-{uuid.uuid4().hex[:8]}"
        dest.mkdir(parents=True)
        self._snapshots.add(dest)
        entries = [
            str(p) for p in self.host_workspace.iterdir() if p.name not in SNAPSHOT_EXCLUDE
        ]
        started = time.monotonic()
        if entries:
            try:
                if self.guard is not None:
                    await asyncio.to_thread(self.guard.check_copy, entries)
                async with self._copy_slots, self._guarded("snapshot refused", count_files=False):
                    err = await _copy(self.host_workspace, dest)
            except BaseException:
                await asyncio.shield(self.remove_snapshot(Snapshot(str(dest), dest, revision)))
                raise
            if err is not None:
                await self.remove_snapshot(Snapshot(str(dest), dest, revision))
                raise SandboxError(f"snapshot failed: {err}")
        return Snapshot(
            path=str(dest),
            host_path=dest,
            revision=revision,
            meta={"copy_s": round(time.monotonic() - started, 4)},
        )

    async def remove_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.host_path is None:
            return
        path = snapshot.host_path
        self._snapshots.discard(path)
        await asyncio.to_thread(shutil.rmtree, path, True)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.guard is not None:
            await self.guard.close()
        for proc in list(self._running):
            await self._kill(proc)
        for path in list(self._snapshots):
            await asyncio.to_thread(shutil.rmtree, path, True)
        self._snapshots.clear()
        if self._owned_root is not None:
            await asyncio.to_thread(shutil.rmtree, self._owned_root, True)


async def _copy(workspace: Path, dest: Path) -> str | None:
    """The workspace copied into ``dest`` (reflinks where possible) without following a
    symlink a command may swap in mid-copy (``safefs.copy``); the error, or None.
    Cancelled, it stops the copy and waits for it, so nothing is written after."""
    stop = threading.Event()
    job = asyncio.ensure_future(
        asyncio.to_thread(copy_tree, workspace, dest, exclude=SNAPSHOT_EXCLUDE, stop=stop)
    )
    try:
        await asyncio.shield(job)
    except OSError as e:
        return f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
    except BaseException:
        stop.set()
        with contextlib.suppress(Exception):  # stopped, or failed: the copy goes anyway
            await job
        raise
    return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
