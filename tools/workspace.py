"""The workspace: the agent's copy of the repository, with a revision counter.

Every write bumps the revision and is logged with the paths it changed, so a result can
say which files were edited after the revision it ran on. File tools read and write the
host directory directly (the sandbox mounts the same directory), through ``safefs``: a
command in the sandbox may be rewriting the tree at the same moment, so no path is
trusted to stay where it was checked.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..safefs import (
    FsError,
    IsDir,
    Missing,
    Root,
    TooLarge,
    WrongKind,
    as_text,
    list_dir,
    read_bytes,
    size_text,
    stat_path,
    walk,
    write_bytes,
)
from .errors import ToolError

#: Directories never listed or fingerprinted.
IGNORED_DIRS = frozenset(
    {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules",
     ".venv", "venv", ".tox", "target", ".snapshots"}
)

#: Written only by host git: a write there would go around the sandbox, which cannot.
GIT_ENTRY = frozenset({".git"})

#: Bytes of one file the file tools read at most: their results are capped far below
#: this, and a bigger file (data, a build artefact, a sparse file) is for ``run``.
MAX_FILE_BYTES = 16_000_000


class WorkspaceError(ToolError):
    """A path outside the workspace, or a file that cannot be read or written."""


class PathMissing(WorkspaceError):
    pass


class PathIsDirectory(WorkspaceError):
    pass


@dataclass(frozen=True)
class Edit:
    revision: int
    paths: tuple[str, ...]
    by: str  # future id of the call, or "" for changes from outside the executor


class Workspace:
    def __init__(
        self, root: Path, *, file_owner: tuple[int, int] | None = None, mounted_at: str = "",
        git_dir: Path | None = None,
    ) -> None:
        """``mounted_at``: where the sandbox sees the root, so that an absolute symlink a
        command made there leads to the same place here. ``git_dir``: the root's git
        directory as the host recorded it (host git never looks for one in the root)."""
        self.root = root.resolve()
        self.git_dir = git_dir
        self.fs = Root(self.root, aliases=(mounted_at,) if mounted_at else ())
        self.file_owner = file_owner
        self.revision = 0
        self.edits: list[Edit] = []

    def stat(self, rel: str) -> os.stat_result | None:
        """What ``rel`` leads to (symlinks inside the workspace followed), None if nothing;
        refuses a path that leads out of the workspace."""
        with _errors(rel, "read"):
            return stat_path(self.fs, rel)

    def read_bytes(self, rel: str, limit: int = MAX_FILE_BYTES) -> bytes:
        with _errors(rel, "read"):
            return read_bytes(self.fs, rel, limit)

    def read_text(self, rel: str) -> str:
        data = self.read_bytes(rel)
        if b"\0" in data[:8192]:
            raise WorkspaceError(f"{rel} is a binary file ({len(data)} bytes)")
        return data.decode("utf-8", errors="replace")

    def write_text(self, rel: str, text: str) -> None:
        """Write atomically (temp file + rename), keeping the file's mode and owner."""
        with _errors(rel, "write"):
            write_bytes(self.fs, rel, text.encode("utf-8"), owner=self.file_owner,
                        fenced=GIT_ENTRY)

    def list_dir(self, rel: str) -> list[str]:
        with _errors(rel, "list"):
            return list_dir(self.fs, rel)

    def record_edit(self, paths: list[str] | tuple[str, ...], by: str = "") -> int:
        """Log a change and bump the revision; returns the new revision."""
        self.revision += 1
        self.edits.append(Edit(self.revision, tuple(sorted(set(paths))), by))
        return self.revision

    def edited_since(self, revision: int) -> list[str]:
        """Paths changed by edits after ``revision`` (``"*"`` for an unknown change)."""
        seen: set[str] = set()
        for edit in reversed(self.edits):
            if edit.revision <= revision:
                break
            seen.update(edit.paths)
        return sorted(seen)

    def fingerprint(self) -> dict[str, tuple[int, int]]:
        """(mtime, size) of every file, to find what an arbitrary command changed."""
        found: dict[str, tuple[int, int]] = {}
        for listing in walk(self.fs):
            listing.dirs[:] = [d for d in listing.dirs if d not in IGNORED_DIRS]
            for entry in listing.others:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                found[as_text(listing.path(entry.name))] = (st.st_mtime_ns, st.st_size)
        return found

    @staticmethod
    def diff_fingerprints(
        before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
    ) -> list[str]:
        changed = {p for p, v in after.items() if before.get(p) != v}
        changed |= set(before) - set(after)
        return sorted(changed)


@contextmanager
def _errors(rel: str, verb: str) -> Iterator[None]:
    """File system errors as errors the model can act on."""
    try:
        yield
    except TooLarge as e:
        raise WorkspaceError(
            f"{e}: the file tools read files up to {size_text(MAX_FILE_BYTES)}; use run "
            "(head, tail, sed -n, grep) for parts of it"
        ) from None
    except Missing:
        raise PathMissing(f"{rel}: no such file") from None
    except IsDir as e:
        raise PathIsDirectory(str(e)) from None
    except WrongKind as e:
        raise WorkspaceError(f"cannot {verb} {rel}: {e}" if verb == "write" else str(e)) from None
    except FsError as e:
        raise WorkspaceError(str(e)) from None
    except OSError as e:
        raise WorkspaceError(f"cannot {verb} {rel}: {e.strerror or e}") from None


def is_dir(st: os.stat_result | None) -> bool:
    return st is not None and stat.S_ISDIR(st.st_mode)
