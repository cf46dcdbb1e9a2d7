"""The on-disk cache of tags: one JSON file per repository, outside the repository.

Entries are keyed by path and stamped with the file's mtime and size, so an edited file
is parsed again and an untouched one never is. The whole cache carries a version made of
the format, the queries and the grammar versions: when any changes, it starts empty.
Writes go through a temporary file and a rename, so two runs that save at once leave one
complete cache, never a torn one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .languages import tags_version
from .tags import FileTags

_FORMAT = 2

#: (mtime in ns, size in bytes) of a file when its tags were taken.
Stamp = tuple[int, int]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/asyncfc-agent/tags``, or under ``~/.cache`` without it."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asyncfc-agent" / "tags"


class TagCache:
    """Tags of one repository's files, loaded at once and saved at once."""

    def __init__(self, path: Path | None, root: Path, entries: dict[str, list[Any]]) -> None:
        self.path = path
        self.root = root
        self._entries = entries
        self._dirty = False

    @classmethod
    def open(cls, directory: Path, root: Path) -> TagCache:
        """The cache of ``root`` in ``directory``; empty if absent, stale or unreadable."""
        key = hashlib.sha256(str(root).encode()).hexdigest()[:24]
        path = directory / f"{key}.json"
        return cls(path, root, _load(path, root))

    @classmethod
    def disabled(cls, root: Path) -> TagCache:
        return cls(None, root, {})

    def get(self, rel: str, stamp: Stamp) -> FileTags | None:
        entry = self._entries.get(rel)
        if entry is None:
            return None
        try:
            if (entry[0], entry[1]) != stamp:
                return None
            return FileTags.from_data(entry[2])
        except (TypeError, ValueError, IndexError, KeyError):  # damaged: a miss, not a failure
            return None

    def put(self, rel: str, stamp: Stamp, tags: FileTags) -> None:
        self._entries[rel] = [stamp[0], stamp[1], tags.to_data()]
        self._dirty = True

    def save(self, keep: Iterable[str]) -> None:
        """Write the entries of the files in ``keep`` (the others are gone) if any changed."""
        kept = set(keep)
        if len(kept) != len(self._entries):
            self._entries = {rel: e for rel, e in self._entries.items() if rel in kept}
            self._dirty = True
        if self.path is None or not self._dirty:
            return
        data = {"version": _version(), "root": str(self.root), "files": self._entries}
        _write_atomically(self.path, json.dumps(data, separators=(",", ":")))
        self._dirty = False


def _version() -> str:
    return f"{_FORMAT}:{tags_version()}"


def _load(path: Path, root: Path) -> dict[str, list[Any]]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _version():
        return {}
    if data.get("root") != str(root):  # a hash collision: never mix two repositories
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tags-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
