"""Memoized futures: a whole-workspace reader keyed by what it would see.

A test suite, a build or a read-only command that runs on a snapshot gives the same
result for the same call on the same files in the same image. Its key is the tool, its
arguments in one spelling, a hash of the workspace's content, the count of
whole-workspace writers that ended (a ``run`` command may change what no file shows:
packages installed in the container, ignored folders), and the sandbox image. An
identical call while one runs joins it; after it resolved, it is given its result at once.

The content hash walks the workspace as ``Workspace.fingerprint`` does (caches and
dependency folders left out) and hashes only files whose inode, size or times changed
since they were last hashed. The tree is hostile data: the walk never follows a symlink,
hashes a symlink's target text, and opens files relative to their directory's descriptor
without following links and without blocking on a pipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..safefs import as_text, walk
from ..tools.workspace import IGNORED_DIRS, Workspace
from .futures import Future, FutureState

#: Files larger than this are keyed by their inode, size and times, not their content.
HASH_LIMIT = 64 << 20
#: Resolved results kept for reuse, at most (the oldest go first).
KEEP_RESOLVED = 64
#: A file changed less than this long before it was hashed is hashed again next time: a
#: write within the same clock tick would keep its size and times (git's "racy" case).
RACY_NS = 2_000_000_000

_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class _Seen:
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int
    digest: str


class TreeHasher:
    """The content hash of a workspace, cheap to compute again (a walk of ``stat`` calls)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._seen: dict[str, _Seen] = {}
        self.files_hashed = 0  # files read, over the hasher's life (for tests and figures)

    def tree_hash(self) -> str:
        """Blocks: run it off the event loop."""
        now = time.time_ns()
        entries: list[tuple[str, str]] = []
        seen: dict[str, _Seen] = {}
        for listing in walk(self.workspace.fs):
            listing.dirs[:] = sorted(d for d in listing.dirs if d not in IGNORED_DIRS)
            for entry in listing.others:
                rel = as_text(listing.path(entry.name))
                try:
                    st = entry.stat(follow_symlinks=False)
                    digest = self._digest(listing.fd, entry.name, rel, st, now, seen)
                except OSError:
                    digest = "gone"  # removed while the walk ran: the next key will differ
                entries.append((rel, digest))
            # an empty directory is something a test may look for
            if not listing.others and not listing.dirs:
                entries.append((as_text(listing.rel) + "/", "dir"))
        self._seen = seen
        entries.sort()
        h = hashlib.sha256()
        for rel, digest in entries:
            h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + digest.encode() + b"\n")
        return h.hexdigest()

    def _digest(
        self, dir_fd: int, name: str, rel: str, st: os.stat_result, now: int, seen: dict[str, _Seen]
    ) -> str:
        if stat.S_ISLNK(st.st_mode):
            return "link:" + os.readlink(name, dir_fd=dir_fd)
        if not stat.S_ISREG(st.st_mode):
            return f"kind:{stat.S_IFMT(st.st_mode):o}"
        mode = "x" if st.st_mode & 0o111 else "f"
        old = self._seen.get(rel)
        if (old is not None and old.ino == st.st_ino and old.size == st.st_size
                and old.mtime_ns == st.st_mtime_ns and old.ctime_ns == st.st_ctime_ns):
            digest = old.digest
        elif st.st_size > HASH_LIMIT:
            digest = f"big:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
        else:
            digest = self._read_hash(dir_fd, name, st)
        if now - st.st_mtime_ns > RACY_NS:
            seen[rel] = _Seen(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest)
        return f"{mode}:{digest}"

    def _read_hash(self, dir_fd: int, name: str, st: os.stat_result) -> str:
        fd = os.open(name, _OPEN, dir_fd=dir_fd)
        try:
            now = os.fstat(fd)
            if not stat.S_ISREG(now.st_mode) or now.st_ino != st.st_ino:
                return "changed"  # swapped while the walk ran
            h = hashlib.sha256()
            left = HASH_LIMIT
            while left > 0 and (chunk := os.read(fd, min(1 << 20, left))):
                h.update(chunk)
                left -= len(chunk)
            self.files_hashed += 1
            return h.hexdigest()
        finally:
            os.close(fd)


def normalised_args(parsed: Any) -> str:
    """A call's arguments in one spelling: the parsed model, defaults filled in, as
    compact JSON with sorted keys (``{}`` and ``{"target": null}`` are the same call)."""
    dump = parsed.model_dump(mode="json") if hasattr(parsed, "model_dump") else parsed
    return json.dumps(dump, sort_keys=True, separators=(",", ":"))


def memo_key(tool: str, args: str, tree: str, writers: int, image: str, commands: str) -> str:
    raw = json.dumps([tool, args, tree, writers, image, commands], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def sandbox_image(sandbox: Any) -> str:
    """What a command's environment is: the image id of a Docker sandbox (its tag may
    point elsewhere tomorrow), else the sandbox's kind."""
    return str(getattr(sandbox, "image_id", None) or getattr(sandbox, "kind", "unknown"))


class MemoTable:
    """Futures by key: the one running for a key, or the last that resolved for it."""

    def __init__(self, keep: int = KEEP_RESOLVED) -> None:
        self._by_key: OrderedDict[str, Future] = OrderedDict()
        self._keep = keep

    def get(self, key: str) -> Future | None:
        """A future whose result a call of ``key`` can have: running, or resolved."""
        found = self._by_key.get(key)
        if found is None:
            return None
        if found.done.is_set() and found.state is not FutureState.RESOLVED:
            del self._by_key[key]  # failed, cancelled or timed out: run the call again
            return None
        self._by_key.move_to_end(key)
        return found

    def add(self, key: str, future: Future) -> None:
        future.memo_key = key
        self._by_key[key] = future
        self._by_key.move_to_end(key)
        resolved = [k for k, f in self._by_key.items() if f.done.is_set()]
        for k in resolved[: max(0, len(resolved) - self._keep)]:
            del self._by_key[k]

    def ended(self, future: Future) -> None:
        """``future`` reached a final state: a result that cannot be reused is dropped."""
        key = future.memo_key
        if key is not None and self._by_key.get(key) is future and future.state is not FutureState.RESOLVED:
            del self._by_key[key]

    def __len__(self) -> int:
        return len(self._by_key)
