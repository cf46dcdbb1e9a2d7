"""The tags of a whole repository, read through the cache.

A cold index of a large repository is dominated by parsing, which holds the GIL; with
many files to parse, this process and worker processes (one per further core) share it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..safefs import FsError, Root, read_bytes
from .cache import Stamp, TagCache, default_cache_dir
from .files import MAX_FILE_BYTES, source_files
from .languages import language_for
from .tags import FileTags, extract_tags

#: Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_MIN_FILES = 300

_MIN_SHARE = 100  # files per worker at the least


@dataclass
class IndexStats:
    """What building an index took: files indexed, parsed, and read from the cache."""

    files: int = 0
    parsed: int = 0
    cached: int = 0
    #: Of the parsed files, those parsed by worker processes.
    by_workers: int = 0


@dataclass
class RepoIndex:
    """Tags by repository-relative path, for every readable source file."""

    root: Path
    files: dict[str, FileTags] = field(default_factory=dict)
    stats: IndexStats = field(default_factory=IndexStats)


def build_index(
    root: Path,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    git_dir: Path | None = None,
) -> RepoIndex:
    """Index ``root``. ``cache_dir`` defaults to ``default_cache_dir()``; ``workers`` to
    the number of cores (1 parses in this process); ``git_dir`` as ``source_files``."""
    root = root.resolve()
    cache = (TagCache.open(cache_dir or default_cache_dir(), root) if use_cache
             else TagCache.disabled(root))
    index = RepoIndex(root)
    stale: list[tuple[str, Stamp]] = []
    for rel, stamp in _stamped(root, source_files(root, git_dir)):
        tags = cache.get(rel, stamp)
        if tags is None:
            stale.append((rel, stamp))
        else:
            index.files[rel] = tags
    index.stats.cached = len(index.files)
    parsed, index.stats.by_workers = _parse_all(root, [rel for rel, _ in stale], workers)
    for (rel, stamp), tags in zip(stale, parsed, strict=True):
        if tags is not None:
            cache.put(rel, stamp, tags)
            index.files[rel] = tags
    index.stats.parsed = len(stale)
    index.stats.files = len(index.files)
    cache.save(index.files)
    return index


def parse_file(root: Root, rel: str) -> FileTags | None:
    """Tags of one file; None for an unknown language, a binary or unreadable file, or one
    that is not a regular file inside ``root`` of at most ``MAX_FILE_BYTES``."""
    spec = language_for(rel.rpartition("/")[2])
    if spec is None:
        return None
    try:
        source = read_bytes(root, rel, MAX_FILE_BYTES)
    except (FsError, OSError):
        return None
    if b"\0" in source[:8192]:
        return None
    return extract_tags(source, spec.name)


def _stamped(root: Path, paths: list[str]) -> Iterator[tuple[str, Stamp]]:
    base = str(root)  # joining strings: Path objects cost more than the stat on a warm map
    for rel in paths:
        try:
            # lstat: a symlink is not indexed (its target is, where it is a source file);
            # the read itself never follows a link out of the root
            st = os.lstat(os.path.join(base, rel))
        except OSError:  # listed by git but deleted
            continue
        if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_FILE_BYTES:
            yield rel, (st.st_mtime_ns, st.st_size)


def _parse_all(
    root: Path, paths: list[str], workers: int | None
) -> tuple[list[FileTags | None], int]:
    """Tags of ``paths``, and how many of them worker processes parsed."""
    count = min(workers if workers is not None else _cores(), len(paths) // _MIN_SHARE)
    fs = Root(root)
    if count <= 1 or len(paths) < PARALLEL_MIN_FILES:
        return [parse_file(fs, rel) for rel in paths], 0
    # Interleaved shares even out directories of big and small files.
    shares = [paths[i::count] for i in range(count)]
    children = [_start_worker(root, share) for share in shares[1:]]
    found = {rel: parse_file(fs, rel) for rel in shares[0]}  # this process takes a share
    by_workers = 0
    for child, share in zip(children, shares[1:], strict=True):
        tags = _collect(child)
        if tags is None:  # the worker failed: its share is parsed here
            tags = {rel: parse_file(fs, rel) for rel in share}
        else:
            by_workers += len(share)
        found.update(tags)
    return [found.get(rel) for rel in paths], by_workers


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use, not the machine's
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _start_worker(root: Path, share: list[str]) -> subprocess.Popen[bytes] | None:
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", f"{__package__}.worker", str(root)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    payload = "".join(rel + "\0" for rel in share).encode("utf-8", "surrogateescape")
    # From a thread: a long list fills the pipe before the worker has started to read.
    threading.Thread(target=_feed, args=(child, payload), daemon=True).start()
    return child


def _feed(child: subprocess.Popen[bytes], payload: bytes) -> None:
    assert child.stdin is not None
    try:
        child.stdin.write(payload)
        child.stdin.close()
    except OSError:  # the worker died; _collect sees it
        pass


def _collect(child: subprocess.Popen[bytes] | None) -> dict[str, FileTags | None] | None:
    """A worker's tags by path; None if it failed."""
    if child is None:
        return None
    with child:  # closes the pipes and waits
        assert child.stdout is not None
        output = child.stdout.read()
    if child.returncode != 0:
        return None
    try:
        return {rel: FileTags.from_data(data) for rel, data in json.loads(output).items()}
    except (TypeError, ValueError, AttributeError):
        return None
