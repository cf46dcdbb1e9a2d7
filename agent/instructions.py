"""Project instructions: the repository's ``AGENTS.md`` files (``CLAUDE.md`` where none).

The file at the root of the repository is part of the system prompt. A file in a folder on
the way to a path the agent works on is added, once, to the first result that names such
a path, nearest folder first: the instructions of a sub-project arrive when the agent
gets there.

These files live in the agent's worktree, which the sandbox can write: they are read
through ``safefs``, only when they are regular files and only up to a size, so a planted
link or FIFO can neither leak a host file into the prompt nor hang the host.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..safefs import FsError, Root, read_head
from .protocol import inert

#: File names read, in order of preference: the first found in a folder is used.
NAMES = ("AGENTS.md", "CLAUDE.md")
#: Characters of the root file given to the model at most.
ROOT_LIMIT = 32_000
#: Characters of a folder's file given to the model at most.
NESTED_LIMIT = 8_000


@dataclass(frozen=True)
class Instructions:
    path: str  # relative to the repository root
    text: str
    truncated: bool


class ProjectInstructions:
    """The instruction files of one workspace, and which of them the model has seen."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: set[str] = set()  # folders already looked at ("" is the root)

    def root_file(self) -> Instructions | None:
        """The root's instructions (read once; later calls give None)."""
        self._seen.add("")
        return read_instructions(self.root, "", ROOT_LIMIT)

    def for_path(self, rel: str, *, is_folder: bool = False) -> list[Instructions]:
        """Instructions of the folders on the way to ``rel`` not shown yet, nearest first."""
        found = []
        for folder in _folders(rel, is_folder):
            if folder in self._seen:
                continue
            self._seen.add(folder)
            if (doc := read_instructions(self.root, folder, NESTED_LIMIT)) is not None:
                found.append(doc)
        return found


def system_section(doc: Instructions) -> str:
    """The root file as a section of the system prompt."""
    cut = "\n[... cut: the file is longer]" if doc.truncated else ""
    return (
        f"\n\nProject instructions from {doc.path} (the repository's own guidance; follow "
        f"it where it does not conflict with the task):\n\n{doc.text.strip()}{cut}"
    )


def result_section(docs: list[Instructions]) -> str:
    """Folder files as a note after a tool result."""
    parts = []
    for doc in docs:
        cut = "\n[... cut: the file is longer]" if doc.truncated else ""
        parts.append(f"\n\n[project instructions for {posixpath.dirname(doc.path)}/, "
                     # a command can write a folder's file: it may imitate a result too
                     f"from {doc.path}]\n{inert(doc.text.strip())}{cut}")
    return "".join(parts)


def _folders(rel: str, is_folder: bool) -> Iterator[str]:
    parts = [p for p in rel.split("/") if p and p != "."]
    if not is_folder:
        parts = parts[:-1]
    for n in range(len(parts), 0, -1):
        yield "/".join(parts[:n])


def read_instructions(root: Path, folder: str, limit: int) -> Instructions | None:
    """The instruction file of ``folder`` (relative, ``""`` for the root), if a regular
    file is there (a symbolic link is followed only while it stays in the repository)."""
    base = Root(root)
    for name in NAMES:
        path = f"{folder}/{name}" if folder else name
        try:
            data, more = read_head(base, path, limit * 4)  # UTF-8: at most 4 bytes a character
        except FsError:
            continue  # absent, not a regular file, or a link that leads out
        text = data.decode("utf-8", errors="replace")
        return Instructions(path, text[:limit], more or len(text) > limit)
    return None
