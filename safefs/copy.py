"""Copying a tree a sandboxed command may be changing, never through a symlink.

``cp -a`` walks the source by path: a directory swapped for a symlink to a host folder
between its check and its descent is copied from the host, and a snapshot is a place
the sandbox can read. Here each directory is opened with ``O_NOFOLLOW`` relative to its
parent's fd and each file relative to its directory's fd, so whatever is swapped in is
copied as the symlink it is, or skipped. Regular files are reflinked where the file
system can, else copied with their holes kept; symlinks and FIFOs are recreated; modes,
owners (under root) and modification times are kept.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import threading
from collections.abc import Iterable
from pathlib import Path

from .tree import MAX_DEPTH

_FICLONE = 0x40049409
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 24


class Cancelled(Exception):
    """The copy was asked to stop."""


class _Copier:
    def __init__(self, stop: threading.Event | None) -> None:
        self.keep_owner = os.geteuid() == 0
        self.reflink = True
        self.stop = stop

    def entry(self, src_dir: int, dst_dir: int, name: str, depth: int) -> None:
        if self.stop is not None and self.stop.is_set():
            raise Cancelled
        try:
            st = os.stat(name, dir_fd=src_dir, follow_symlinks=False)
        except FileNotFoundError:  # removed meanwhile
            return
        if stat.S_ISDIR(st.st_mode):
            if depth < MAX_DEPTH:
                self.directory(src_dir, dst_dir, name, depth + 1)
        elif stat.S_ISREG(st.st_mode):
            self.file(src_dir, dst_dir, name)
        elif stat.S_ISLNK(st.st_mode):
            with contextlib.suppress(OSError):  # swapped for something else meanwhile
                os.symlink(os.readlink(name, dir_fd=src_dir), name, dir_fd=dst_dir)
                self.finish_path(dst_dir, name, st)
        elif stat.S_ISFIFO(st.st_mode):
            os.mkfifo(name, st.st_mode & 0o7777, dir_fd=dst_dir)
            self.finish_path(dst_dir, name, st)
        # sockets and devices are not copied: nothing in a snapshot needs them

    def directory(self, src_dir: int, dst_dir: int, name: str, depth: int) -> None:
        try:
            src = os.open(name, _DIR_FLAGS, dir_fd=src_dir)
        except OSError:  # gone, or no longer a directory
            return
        try:
            os.mkdir(name, 0o700, dir_fd=dst_dir)
            dst = os.open(name, _DIR_FLAGS, dir_fd=dst_dir)
            try:
                self.contents(src, dst, os.listdir(src), depth)
                self.finish_fd(dst, os.fstat(src))
            finally:
                os.close(dst)
        finally:
            os.close(src)

    def contents(self, src: int, dst: int, names: Iterable[str], depth: int) -> None:
        for name in names:
            self.entry(src, dst, name, depth)

    def file(self, src_dir: int, dst_dir: int, name: str) -> None:
        try:
            src = os.open(name, _FILE_FLAGS, dir_fd=src_dir)
        except OSError:  # gone, or swapped for a symlink
            return
        try:
            st = os.fstat(src)
            if not stat.S_ISREG(st.st_mode):  # swapped for a FIFO between stat and open
                return
            dst = os.open(name, _NEW_FLAGS, 0o600, dir_fd=dst_dir)
            try:
                self.data(src, dst, st.st_size)
                self.finish_fd(dst, st)
            finally:
                os.close(dst)
        finally:
            os.close(src)

    def data(self, src: int, dst: int, size: int) -> None:
        if self.reflink:
            try:
                fcntl.ioctl(dst, _FICLONE, src)
                return
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY):
                    raise
                self.reflink = False  # the file system cannot: do not ask again
        _copy_data(src, dst, size)

    def finish_fd(self, fd: int, st: os.stat_result) -> None:
        if self.keep_owner:
            os.fchown(fd, st.st_uid, st.st_gid)
        os.fchmod(fd, st.st_mode & 0o7777)
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))

    def finish_path(self, dir_fd: int, name: str, st: os.stat_result) -> None:
        if self.keep_owner:
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dir_fd, follow_symlinks=False)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dir_fd, follow_symlinks=False)


def _copy_data(src: int, dst: int, size: int) -> None:
    """The data of ``src`` into ``dst``, leaving its holes holes (a sparse file stays small)."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(src, offset, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: only a hole is left
                raise
            break
        end = os.lseek(src, start, os.SEEK_HOLE)
        pos = start
        while pos < end:
            done = os.copy_file_range(src, dst, min(_CHUNK, end - pos), pos, pos)
            if done == 0:  # the file shrank meanwhile
                end = pos
                break
            pos += done
        offset = end
    os.ftruncate(dst, max(size, offset))


def copy_tree(
    src: Path, dst: Path, *, exclude: frozenset[str] = frozenset(),
    stop: threading.Event | None = None,
) -> None:
    """Copy what the directory ``src`` holds (but the names in ``exclude``) into the
    existing directory ``dst``. Blocks; ``stop`` set ends it with ``Cancelled``; an
    ``OSError`` of the destination (a full disk) ends it too."""
    src_fd = os.open(src, _DIR_FLAGS)
    try:
        dst_fd = os.open(dst, _DIR_FLAGS)
        try:
            names = [n for n in os.listdir(src_fd) if n not in exclude]
            _Copier(stop).contents(src_fd, dst_fd, names, 0)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
