"""The host's side of a Docker sandbox: who owns the workspace, where snapshots live.

Under root, commands run as an unprivileged uid that has no account on a typical host,
and the workspace is handed over to it; otherwise they run as the invoking user.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ..safefs import Root, walk

#: uid:gid of commands when the agent runs as root: no account on a typical host.
UNPRIVILEGED = (10001, 10001)


def resolve_user(configured: str | None) -> tuple[str, tuple[int, int] | None]:
    """The container's "uid:gid", and the owner that host-written files must get.

    Under a non-root user the container runs as that user, so files stay theirs. Under
    root it runs as ``UNPRIVILEGED``, and the workspace is handed over to that uid.
    """
    host_uid = os.getuid()
    if configured:
        uid_text, _, gid_text = configured.partition(":")
        uid, gid = int(uid_text), int(gid_text or uid_text)
    elif host_uid != 0:
        return f"{host_uid}:{os.getgid()}", None
    else:
        uid, gid = UNPRIVILEGED
    owner = (uid, gid) if host_uid == 0 and uid != 0 else None
    return f"{uid}:{gid}", owner


def hand_over(root: Path, owner: tuple[int, int]) -> None:
    """``chown -R`` that touches only what is not owned right already. Blocks.

    By directory fd, never through a symlink nor into a FIFO (``safefs.walk``): a worktree
    a container has used may hold links out of it, and a sibling container may be swapping
    them in while this runs.
    """
    def own(name: str, dir_fd: int | None) -> None:
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if (st.st_uid, st.st_gid) != owner:
                os.chown(name, *owner, dir_fd=dir_fd, follow_symlinks=False)

    own(str(root), None)
    for listing in walk(Root(root)):
        for name in (*listing.dirs, *(entry.name for entry in listing.others)):
            own(name, listing.fd)


def snapshot_root_beside(workspace: Path) -> Path:
    """A new folder for snapshots; beside the workspace, so copies can be reflinks."""
    try:
        return Path(tempfile.mkdtemp(prefix=".snapshots-", dir=workspace.parent))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="asyncfc-snapshots-"))
