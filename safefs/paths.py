"""Resolving a relative path inside a directory that something else may be changing.

A sandboxed command can rewrite the workspace at any moment, so a path that was checked
and then opened by name can lead somewhere else by the time it is opened (a directory
swapped for a symlink to ``/``). Here every component is opened with ``O_NOFOLLOW``
relative to the directory fd held for the one before it, starting from the root's fd;
the kernel never resolves a symlink for us. A symlink met on the way is read and its
target walked the same way, from the directory that holds it (or from the root, for an
absolute target naming a place under the root); a target that climbs above the root or
names a place outside it is refused. Whatever the other side does meanwhile, each fd we
hold is a directory inside the root, so what we finally open is too.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

#: Symlinks followed while resolving one path at most (the kernel's own limit).
MAX_LINKS = 40

#: Directories deep that a path may lead at most (each level holds an fd while resolved).
MAX_NESTING = 256

_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class FsError(Exception):
    """A path that cannot be used: missing, outside the root, of the wrong kind, too big."""


class Missing(FsError):
    pass


class Outside(FsError):
    pass


class WrongKind(FsError):
    pass


class IsDir(WrongKind):
    pass


class Fenced(FsError):
    pass


class TooLarge(FsError):
    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symlink"),
)


def kind_of(mode: int) -> str:
    """What a file is, as a message names it."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _parts(path: str, via: str = "") -> list[tuple[str, str]]:
    """(component, the symlink whose target it comes from) in reverse order, so that the
    next one is ``pop()``-ed."""
    return [(p, via) for p in reversed(path.split("/")) if p not in ("", ".")]


@dataclass
class Found:
    """Where a path led: the held directory that holds it, its name there, and (when it
    exists) an ``O_PATH`` fd of it and its ``fstat``. Close it (or use ``with``)."""

    shown: str  # the path inside the root that it resolved to, symlinks followed
    parent_fd: int
    name: str  # "" when the path is the root itself
    fd: int | None
    st: os.stat_result | None
    _fds: list[int] = field(default_factory=list)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    @property
    def is_dir(self) -> bool:
        return self.st is not None and stat.S_ISDIR(self.st.st_mode)


class Root:
    """A directory that relative paths are resolved in and never leave.

    The root's own path is trusted (the host made it, and the sandbox mounts it, so it
    cannot be replaced); everything below it is not.
    """

    def __init__(self, path: Path | str, *, aliases: tuple[str, ...] = ()) -> None:
        """``aliases``: other absolute paths of the root, as symlink targets may name it
        (where a sandbox mounts it)."""
        # The root's own name is not resolved: a snapshot folder sits in a folder the
        # sandbox can write, so it may have been swapped for a symlink (opening it fails).
        head, name = os.path.split(os.path.abspath(path))
        self.path = os.path.join(os.path.realpath(head), name)
        self._prefixes = [[p for p in root.split("/") if p] for root in (self.path, *aliases)]

    def open_root(self) -> int:
        return os.open(self.path, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)

    def find(self, rel: str, *, missing_ok: bool = False, make_dirs: bool = False,
             created: list[str] | None = None, fenced: frozenset[str] = frozenset()) -> Found:
        """Resolve ``rel`` (see the module's docstring).

        ``missing_ok``: a missing last component gives a ``Found`` without ``fd``.
        ``make_dirs``: missing directories on the way are made (their paths are added to
        ``created``, parents first).
        ``fenced``: names at the root that the path may not lead into, symlinks followed.
        """
        fds = [self.open_root()]
        stack: list[str] = []  # names of the directories held in fds[1:]
        try:
            return self._walk(rel, fds, stack, missing_ok, make_dirs, created, fenced)
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise

    def _walk(self, rel: str, fds: list[int], stack: list[str], missing_ok: bool,
              make_dirs: bool, created: list[str] | None, fenced: frozenset[str]) -> Found:
        pending = _parts(rel)
        links = 0
        while pending:
            name, via = pending.pop()
            if name == "..":
                if not stack:
                    raise self._out(rel, via)
                stack.pop()
                os.close(fds.pop())
                continue
            if not stack and name in fenced:
                raise Fenced(f"{rel} is inside {name}, which the file tools do not write")
            if len(stack) >= MAX_NESTING:
                raise FsError(f"{rel}: more than {MAX_NESTING} nested directories")
            here = "/".join([*stack, name])
            try:
                fd = os.open(name, _PATH_FLAGS, dir_fd=fds[-1])
            except FileNotFoundError:
                if pending and make_dirs:
                    fd = self._make_dir(fds[-1], name, here, created)
                elif not pending and missing_ok:
                    return Found(here, fds[-1], name, None, None, fds)
                else:
                    raise Missing(f"{here}: no such file or directory") from None
            except NotADirectoryError:  # the directory held was swapped for a file
                raise WrongKind(f"{'/'.join(stack)} is not a directory") from None
            fds.append(fd)
            st = os.fstat(fd)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_LINKS:
                    raise FsError(f"{rel}: too many levels of symbolic links (a loop?)")
                # the link's own fd: the name may already be something else
                target = os.readlink("", dir_fd=fd)
                os.close(fds.pop())
                pending += self._target(target, fds, stack, here)
                continue
            if not pending:
                return Found(here, fds[-2], name, fd, st, fds)
            if not stat.S_ISDIR(st.st_mode):
                raise WrongKind(f"{here} is not a directory")
            stack.append(name)
        if not stack:  # the root itself
            return Found("", fds[0], "", fds[0], os.fstat(fds[0]), fds)
        # a ".." ended the path: the last directory held is the answer
        return Found("/".join(stack), fds[-2], stack[-1], fds[-1], os.fstat(fds[-1]), fds)

    def _target(
        self, target: str, fds: list[int], stack: list[str], link: str
    ) -> list[tuple[str, str]]:
        """The components still to walk for a symlink's target, in ``pop()`` order."""
        if not target.startswith("/"):
            return _parts(target, link)
        parts = [p for p in target.split("/") if p]
        prefix = next((p for p in self._prefixes if parts[: len(p)] == p), None)
        if prefix is None:
            raise Outside(f"{link} is a symlink that leads outside the repository")
        while stack:  # back to the root, then down from it
            stack.pop()
            os.close(fds.pop())
        return _parts("/".join(parts[len(prefix):]), link)

    @staticmethod
    def _out(rel: str, link: str) -> Outside:
        if link:
            return Outside(f"{link} is a symlink that leads outside the repository")
        return Outside(f"{rel!r} is outside the repository")

    @staticmethod
    def _make_dir(dir_fd: int, name: str, here: str, created: list[str] | None) -> int:
        try:
            os.mkdir(name, 0o755, dir_fd=dir_fd)
            if created is not None:
                created.append(here)
        except FileExistsError:  # made meanwhile: whatever it is, it is opened as found
            pass
        return os.open(name, _PATH_FLAGS, dir_fd=dir_fd)
