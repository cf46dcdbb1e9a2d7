"""Which files of a repository code navigation reads.

In a git repository git itself lists the files (tracked, plus untracked ones that are not
ignored), which honours every .gitignore at the cost of one process. Elsewhere, or when
git is missing, a walk does. Either way the directories that hold dependencies and build
output are skipped, since some repositories commit them, and so are hidden ones.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..safefs import FsError, Root, walk
from .languages import language_for

#: Directories of dependencies, environments, caches and build output.
SKIPPED_DIRS = frozenset({
    "node_modules", "bower_components", "vendor", "__pycache__", "venv", "site-packages",
    "build", "dist", "target", "out", "coverage", "htmlcov",
})

#: Larger files are generated or vendored, not read by people.
MAX_FILE_BYTES = 1_000_000

_GIT_TIMEOUT_S = 30.0


def source_files(root: Path, git_dir: Path | None = None) -> list[str]:
    """Files under ``root`` in a supported language, as sorted posix paths relative to it.

    ``git_dir``: the git directory of ``root`` as its owner recorded it. Give it for a tree
    that commands can write (an agent's workspace): git then never looks for a repository,
    or its config, in the tree itself. None looks it up from ``root``.
    """
    listed = _git_files(root, git_dir)
    # Nothing listed can also mean a folder the enclosing repository ignores.
    candidates = listed if listed else _walk(root)
    return sorted({p for p in candidates if language_for(p) is not None and not _skipped(p)})


def _skipped(path: str) -> bool:
    *dirs, _ = path.split("/")
    return any(d in SKIPPED_DIRS or d.startswith(".") for d in dirs)


#: The repository may be a workspace a sandbox wrote, ``.git`` included: ``-c`` wins over
#: its config, so nothing there makes this call run a command (``ls-files`` runs the
#: fsmonitor hook). Whatever it lists is read through safefs, never outside ``root``.
_SAFE_GIT = ("git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
             "-c", "core.untrackedCache=false")


def _git_files(root: Path, git_dir: Path | None) -> list[str] | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    where = [f"--git-dir={git_dir}", f"--work-tree={root}"] if git_dir is not None else []
    try:
        done = subprocess.run(
            [*_SAFE_GIT[:1], *where, *_SAFE_GIT[1:], "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"],
            cwd=root, capture_output=True, timeout=_GIT_TIMEOUT_S, check=False, env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:  # not a git repository
        return None
    # Paths are relative to cwd, which may be a folder inside the repository.
    return [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    try:
        for listing in walk(Root(root)):
            listing.dirs[:] = [d for d in listing.dirs
                               if d not in SKIPPED_DIRS and not d.startswith(".")]
            found.extend(listing.path(e.name) for e in listing.others if e.is_file(follow_symlinks=False))
    except (FsError, OSError):  # the root itself is gone or unreadable
        return found
    return found
