"""Walking a tree under a ``Root`` from directory fds, never through a symlink.

Each directory is opened with ``O_NOFOLLOW`` relative to its parent's fd, so a directory
swapped for a symlink while the walk runs is skipped, not followed out of the root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .paths import Root, WrongKind

#: Directories deeper than this are not entered (each level holds an fd while walked).
MAX_DEPTH = 64

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Listing:
    """One directory: its path under the top of the walk (``""`` for the top), its subdirectories
    (remove names to skip them) and its other entries (files, symlinks, pipes ...).
    The entries' ``stat(follow_symlinks=False)`` works while the walk is at this directory."""

    rel: str
    dirs: list[str]
    others: list[os.DirEntry[str]]
    #: The directory's fd, open while the walk is at it (for ``*at`` calls).
    fd: int = -1

    def path(self, name: str) -> str:
        return f"{self.rel}/{name}" if self.rel else name


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def as_text(path: str) -> str:
    """A path as one line of text that encodes: bytes of a name that are not UTF-8 (which
    ``os`` gives as lone surrogates) and control characters (a newline would read as two
    names, an escape sequence would reach a terminal) as ``\\xff``-style escapes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        path = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if _CONTROL.search(path):
        path = _CONTROL.sub(lambda m: repr(m.group())[1:-1], path)
    return path


def _scan(fd: int, rel: str) -> Listing:
    listing = Listing(rel, [], [], fd)
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                listing.dirs.append(entry.name)
            else:
                listing.others.append(entry)
    return listing


def walk(root: Root, rel: str = "") -> Iterator[Listing]:
    """The directories under ``rel``, top-down, each before what it holds."""
    with root.find(rel) as found:
        if not found.is_dir:
            raise WrongKind(f"{found.shown or '.'} is not a directory")
        assert found.fd is not None
        top = os.open(".", _DIR_FLAGS, dir_fd=found.fd)
    stack: list[tuple[int, Listing, Iterator[str]]] = []
    try:
        listing = _scan(top, "")
        stack.append((top, listing, iter(())))
        yield listing
        stack[-1] = (top, listing, iter(list(listing.dirs)))
        while stack:
            fd, parent, names = stack[-1]
            name = next(names, None)
            if name is None:
                os.close(stack.pop()[0])
                continue
            if len(stack) >= MAX_DEPTH:
                continue
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError:  # gone, or no longer a directory (a symlink swapped in)
                continue
            try:
                listing = _scan(child, parent.path(name))
            except OSError:
                os.close(child)
                continue
            stack.append((child, listing, iter(())))
            yield listing
            stack[-1] = (child, listing, iter(list(listing.dirs)))
    finally:
        for fd, _, _ in stack:
            os.close(fd)
