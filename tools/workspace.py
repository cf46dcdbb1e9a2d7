"""The workspace: the agent's copy of the repository, with a revision counter.

Every write bumps the revision and is logged with the paths it changed, so a result can
say which files were edited after the revision it ran on. File tools read and write the
host directory directly (the sandbox mounts the same directory).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolError

#: Directories never listed or fingerprinted.
IGNORED_DIRS = frozenset(
    {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules",
     ".venv", "venv", ".tox", "target", ".snapshots"}
)


class WorkspaceError(ToolError):
    """A path outside the workspace, or a file that cannot be read or written."""


@dataclass(frozen=True)
class Edit:
    revision: int
    paths: tuple[str, ...]
    by: str  # future id of the call, or "" for changes from outside the executor


class Workspace:
    def __init__(self, root: Path, *, file_owner: tuple[int, int] | None = None) -> None:
        self.root = root.resolve()
        self.file_owner = file_owner
        self.revision = 0
        self.edits: list[Edit] = []

    def resolve(self, rel: str) -> Path:
        """The host path of a workspace-relative path; refuses to leave the workspace."""
        path = (self.root / rel).resolve()
        if path != self.root and self.root not in path.parents:
            raise WorkspaceError(f"{rel!r} is outside the repository")
        return path

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def read_text(self, rel: str) -> str:
        path = self.resolve(rel)
        if not path.exists():
            raise WorkspaceError(f"{rel}: no such file")
        if path.is_dir():
            raise WorkspaceError(f"{rel} is a directory")
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            raise WorkspaceError(f"{rel} is a binary file ({len(data)} bytes)")
        return data.decode("utf-8", errors="replace")

    def write_text(self, rel: str, text: str) -> None:
        """Write atomically (temp file + rename), keeping the file's mode and owner."""
        path = self.resolve(rel)
        if path.is_dir():
            raise WorkspaceError(f"{rel} is a directory")
        created_dirs = self._make_parents(path.parent)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=".asyncfc-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            os.chmod(tmp, mode)
            if self.file_owner is not None:
                os.chown(tmp, *self.file_owner)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if self.file_owner is not None:
            for d in created_dirs:
                os.chown(d, *self.file_owner)

    def _make_parents(self, directory: Path) -> list[Path]:
        missing: list[Path] = []
        d = directory
        while not d.exists():
            missing.append(d)
            d = d.parent
        directory.mkdir(parents=True, exist_ok=True)
        return list(reversed(missing))

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
        root = str(self.root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS]
            for name in filenames:
                full = os.path.join(dirpath, name)
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                found[os.path.relpath(full, root).replace(os.sep, "/")] = (
                    st.st_mtime_ns,
                    st.st_size,
                )
        return found

    @staticmethod
    def diff_fingerprints(
        before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
    ) -> list[str]:
        changed = {p for p, v in after.items() if before.get(p) != v}
        changed |= set(before) - set(after)
        return sorted(changed)
