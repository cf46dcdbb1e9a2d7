"""Reading and writing files under a ``Root`` without being steered out of it.

A read opens only a regular file, through the ``O_PATH`` fd the walk ended on (so what
was checked is what is read), and never more than a given number of bytes: a FIFO, a
socket or a device planted in the workspace, or a 20 GB sparse file, gives an error that
says what it is. A write makes a temporary file in the held parent directory and renames
it over the name there; the rename replaces whatever is at the name (a symlink swapped in
meanwhile included) and never writes through it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat

from .paths import Found, FsError, IsDir, Missing, Root, TooLarge, WrongKind, kind_of

#: Prefix of the temporary files of atomic writes.
TEMP_PREFIX = ".asyncfc-"

_CHUNK = 1 << 20
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def size_text(n: int) -> str:
    """``812 bytes``, ``3.4 MB``, ``20.0 GB``."""
    if n < 1000:
        return f"{n} bytes"
    value = n / 1000
    for unit in ("kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:,.1f} TB"


def regular(found: Found, what: str = "file") -> os.stat_result:
    """The stat of a found path that exists and is a regular file."""
    if found.st is None:
        raise Missing(f"{found.shown or '.'}: no such {what}")
    if not stat.S_ISREG(found.st.st_mode):
        shown = found.shown or "."
        if stat.S_ISDIR(found.st.st_mode):
            raise IsDir(f"{shown} is a directory")
        raise WrongKind(f"{shown} is {kind_of(found.st.st_mode)}, not a regular file")
    return found.st


def read_found(found: Found, limit: int) -> bytes:
    """The content of a found regular file, refusing one larger than ``limit`` bytes."""
    st = regular(found)
    if st.st_size > limit:
        raise TooLarge(f"{found.shown} is {size_text(st.st_size)} ({st.st_size:,} bytes)",
                       st.st_size)
    data = _read_upto(found, limit + 1)
    if len(data) > limit:  # it grew since the stat
        raise TooLarge(f"{found.shown} is over {size_text(limit)}", len(data))
    return data


def read_head(root: Root, rel: str, limit: int) -> tuple[bytes, bool]:
    """The first ``limit`` bytes of a regular file, and whether there was more."""
    with root.find(rel) as found:
        regular(found)
        data = _read_upto(found, limit + 1)
    return data[:limit], len(data) > limit


def _reopen(found: Found) -> int:
    """The checked file, open for reading."""
    assert found.fd is not None and found.st is not None
    try:
        # through the O_PATH fd: exactly the file the walk checked, not whatever has the name
        return os.open(f"/proc/self/fd/{found.fd}", os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:  # no /proc: by name in the held directory, then compared
        fd = os.open(found.name, _READ_FLAGS, dir_fd=found.parent_fd)
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (found.st.st_dev, found.st.st_ino):
            os.close(fd)
            raise Missing(f"{found.shown}: replaced while it was read") from None
        return fd


def _read_upto(found: Found, size: int) -> bytes:
    fd = _reopen(found)
    try:
        chunks: list[bytes] = []
        got = 0
        while got < size:
            chunk = os.read(fd, min(_CHUNK, size - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_bytes(root: Root, rel: str, limit: int) -> bytes:
    with root.find(rel) as found:
        return read_found(found, limit)


def write_bytes(
    root: Root, rel: str, data: bytes, *, owner: tuple[int, int] | None = None,
    fenced: frozenset[str] = frozenset(),
) -> str:
    """Write ``data`` atomically at ``rel`` (symlinks inside the root are followed, but not
    into the root's entries named in ``fenced``), keeping an existing file's mode; missing
    parents are made. Returns the path written."""
    created: list[str] = []
    with root.find(rel, missing_ok=True, make_dirs=True, created=created,
                   fenced=fenced) as found:
        if not found.name:
            raise IsDir("the repository root is a directory")
        mode = 0o644
        if found.st is not None:
            mode = regular(found).st_mode & 0o7777
        _replace(found.parent_fd, found.name, data, mode, owner)
        if owner is not None and created:
            _own_created(root, created, owner)
        return found.shown


def _replace(dir_fd: int, name: str, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    tmp = f"{TEMP_PREFIX}{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)
            if owner is not None:
                os.fchown(fd, *owner)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _own_created(root: Root, created: list[str], owner: tuple[int, int]) -> None:
    for rel in created:
        with contextlib.suppress(FsError, OSError), root.find(rel) as found:
            if found.name:
                os.chown(found.name, *owner, dir_fd=found.parent_fd, follow_symlinks=False)


def stat_path(root: Root, rel: str) -> os.stat_result | None:
    """The stat of what ``rel`` leads to (symlinks inside the root followed), or None."""
    try:
        with root.find(rel, missing_ok=True) as found:
            return found.st
    except (Missing, WrongKind):  # a directory on the way is missing, or is a file
        return None


def list_dir(root: Root, rel: str) -> list[str]:
    """The names in a directory under the root."""
    with root.find(rel) as found:
        if not found.is_dir:
            raise WrongKind(f"{found.shown or '.'} is not a directory")
        assert found.fd is not None
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=found.fd)
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)
