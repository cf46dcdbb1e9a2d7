"""An exclusive lock between processes of one machine, on a file that is never a link."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def held_lock(path: Path) -> Iterator[None]:
    """Hold ``path``'s lock (made if missing) for the block. The file is opened without
    following a link, so one planted in a shared folder locks nothing else."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
