"""Keeps a sandbox from filling the host's disk: free space and inodes held in reserve.

A command writes to the workspace and the snapshots, which are host folders. While any
command of a sandbox runs, its guard looks at the filesystems holding them every
``interval_s``; when free space or free inodes are below the reserve and still falling,
or would be by the next look at the rate they fell since the last, every running command
of that sandbox is stopped and fails with ``SandboxLimit``
("stopped: ..."); so is a command that adds more than ``max_new_files`` inodes to
them while it runs (counted on the whole filesystem). Below the reserve a command may still run as long as it takes nothing
(``rm`` is how the agent gets out), and a snapshot that would go below it is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

from ..safefs import FsError, Root, walk
from .base import SandboxLimit
from .config import SandboxConfig, size_in_bytes

_INTERVAL_S = 0.1


class DiskGuard:
    def __init__(
        self,
        paths: Iterable[Path],
        *,
        reserve_bytes: int,
        reserve_inodes: int,
        reserve_text: str = "",
        max_new_files: int = 0,
        interval_s: float = _INTERVAL_S,
    ) -> None:
        self.paths = list(paths)
        #: Inodes the filesystems may lose while a command runs (0: no limit).
        self.max_new_files = max_new_files
        self.reserve_bytes = reserve_bytes
        self.reserve_inodes = reserve_inodes
        self._reserve_text = reserve_text or f"{reserve_bytes} bytes"
        self._interval_s = interval_s
        self._watched: dict[object, asyncio.Task[object]] = {}
        self._tripped: dict[object, str] = {}
        self._baselines: dict[object, dict[Path, int | None]] = {}  # free inodes at its start
        self._poller: asyncio.Task[None] | None = None
        self._fresh = False  # a command started since the last sample

    @classmethod
    def of(cls, config: SandboxConfig, paths: Iterable[Path]) -> DiskGuard:
        return cls(
            paths,
            reserve_bytes=size_in_bytes(config.disk_reserve),
            reserve_inodes=config.inode_reserve,
            reserve_text=config.disk_reserve,
            max_new_files=config.max_new_files,
        )

    def watch_also(self, path: Path) -> None:
        if path not in self.paths:
            self.paths.append(path)

    def shortage(self, *, need_bytes: int = 0, need_inodes: int = 0, when: str = "") -> str | None:
        """Why the disks are below the reserve (once ``need_*`` more are used), or None.

        ``when`` says when they would be, for a reason that looks ahead."""
        for path, free, inodes in self._sample():
            if free - need_bytes < self.reserve_bytes:
                return (f"less than {self._reserve_text} left free on the disk of {path}{when} "
                        "(sandbox.disk_reserve)")
            if inodes is not None and inodes - need_inodes < self.reserve_inodes:
                return (f"fewer than {self.reserve_inodes} free inodes left on the disk of {path}{when} "
                        "(sandbox.inode_reserve): too many files")
        return None

    def _sample(self) -> list[tuple[Path, int, int | None]]:
        """(path, free bytes, free inodes or None) of each filesystem watched."""
        found: dict[int, tuple[Path, int, int | None]] = {}
        for path in self.paths:
            try:
                st = os.statvfs(path)
                device = os.stat(path).st_dev
            except OSError:
                continue  # gone (a removed snapshot folder): nothing to keep there
            # a filesystem without a fixed inode table (btrfs) reports none
            found.setdefault(device, (path, st.f_bavail * st.f_frsize, st.f_favail if st.f_files else None))
        return list(found.values())

    @contextlib.asynccontextmanager
    async def watch(self, what: str = "stopped", *, count_files: bool = True) -> AsyncIterator[None]:
        """Run the body; if the disks go below the reserve meanwhile, cancel it and raise
        ``SandboxLimit`` ("<what>: <reason>"). The body must clean up on cancellation.

        ``count_files=False`` leaves ``max_new_files`` out (a snapshot copies every file)."""
        task = asyncio.current_task()
        assert task is not None
        token = object()
        self._watched[token] = task
        self._baselines[token] = {p: inodes for p, _, inodes in self._sample()} if count_files else {}
        self._fresh = True
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="disk-guard")
        try:
            yield
        except asyncio.CancelledError:
            tripped = self._tripped.pop(token, None)
            if tripped is not None and task.uncancel() == 0:
                raise SandboxLimit(f"{what}: {tripped}") from None
            raise
        finally:
            self._watched.pop(token, None)
            self._tripped.pop(token, None)
            self._baselines.pop(token, None)

    def check_copy(self, sources: Iterable[str]) -> None:
        """Refuse (``SandboxLimit``) a copy of ``sources`` that would go below the reserve.

        Counted as full copies: where the filesystem makes reflinks they cost less. Blocks.
        """
        size = count = 0
        for blocks in _blocks(sources):
            count += 1
            size += blocks * 512
        reason = self.shortage(need_bytes=size, need_inodes=count)
        if reason is not None:
            raise SandboxLimit(
                f"snapshot refused: a copy of the workspace ({size >> 20} MiB, {count} files) "
                f"would go below the reserve: {reason}"
            )

    async def _poll(self) -> None:
        last = self._sample()
        while self._watched:
            await asyncio.sleep(self._interval_s)
            now = self._sample()
            # what was taken before a command started is not that command's doing
            falling = _falling(last, now) and not self._fresh
            self._fresh = False
            # a writer faster than the reserve per look would be past it by the next one:
            # it is stopped when, at the rate of the last interval, it would get there
            drop_bytes, drop_inodes = _drop(last, now)
            last = now
            reason = None
            if falling:
                reason = self.shortage() or self.shortage(
                    need_bytes=drop_bytes, need_inodes=drop_inodes,
                    when=f" within {self._interval_s:g} s at the rate it is being filled",
                )
            for token, task in list(self._watched.items()):
                why = reason or self._too_many_files(token, now)
                if why is not None and token not in self._tripped:
                    self._tripped[token] = why
                    task.cancel()

    def _too_many_files(self, token: object, now: list[tuple[Path, int, int | None]]) -> str | None:
        if not self.max_new_files:
            return None
        start = self._baselines.get(token, {})
        for path, _, inodes in now:
            before = start.get(path)
            if inodes is not None and before is not None and before - inodes > self.max_new_files:
                return (f"more than {self.max_new_files} new files on the disk of {path} while it "
                        "ran (sandbox.max_new_files): too many files")
        return None

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller


def _falling(before: list[tuple[Path, int, int | None]], after: list[tuple[Path, int, int | None]]) -> bool:
    """Whether free space or free inodes went down on any filesystem between two samples."""
    earlier = {path: (free, inodes) for path, free, inodes in before}
    for path, free, inodes in after:
        if path not in earlier:
            return True  # a folder newly watched: judge it by the reserve alone
        was_free, was_inodes = earlier[path]
        if free < was_free or (inodes is not None and was_inodes is not None and inodes < was_inodes):
            return True
    return False


def _drop(before: list[tuple[Path, int, int | None]], after: list[tuple[Path, int, int | None]]) -> tuple[int, int]:
    """The most free bytes and free inodes any filesystem lost between two samples."""
    earlier = {path: (free, inodes) for path, free, inodes in before}
    drop_bytes = drop_inodes = 0
    for path, free, inodes in after:
        if path not in earlier:
            continue
        was_free, was_inodes = earlier[path]
        drop_bytes = max(drop_bytes, was_free - free)
        if inodes is not None and was_inodes is not None:
            drop_inodes = max(drop_inodes, was_inodes - inodes)
    return drop_bytes, drop_inodes


def _blocks(sources: Iterable[str]) -> Iterator[int]:
    """The blocks of every path of the trees under ``sources`` (files and folders), themselves
    included. By directory fd, never through a symlink nor into a FIFO (``safefs.walk``): a
    command may swap a folder for a symlink to ``/`` while this counts."""
    for source in sources:
        try:
            st = os.lstat(source)
        except OSError:
            continue
        yield st.st_blocks
        if not stat.S_ISDIR(st.st_mode):
            continue
        parent, name = os.path.split(source)
        try:
            for listing in walk(Root(parent), name):
                for entry in listing.dirs:
                    with contextlib.suppress(OSError):
                        yield os.stat(entry, dir_fd=listing.fd, follow_symlinks=False).st_blocks
                for other in listing.others:
                    with contextlib.suppress(OSError):
                        yield other.stat(follow_symlinks=False).st_blocks
        except (FsError, OSError):  # swapped for something else meanwhile: not copied either
            continue
