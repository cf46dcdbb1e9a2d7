"""Files of a directory that a sandboxed command may be changing at the same moment.

Everything the sandbox can write is hostile to the host: ``paths`` resolves a relative
path without ever letting the kernel follow a symlink (so none leads out of the root,
even one swapped in mid-call), ``files`` reads (bounded, regular files only) and writes
(atomically, in the held directory), ``tree`` walks without entering symlinks, and
``copy`` copies a tree (snapshots) the same way.
"""

from .files import (
    TEMP_PREFIX,
    list_dir,
    read_bytes,
    read_found,
    read_head,
    regular,
    size_text,
    stat_path,
    write_bytes,
)
from .paths import (
    MAX_LINKS,
    MAX_NESTING,
    Fenced,
    Found,
    FsError,
    IsDir,
    Missing,
    Outside,
    Root,
    TooLarge,
    WrongKind,
    kind_of,
)
from .tree import MAX_DEPTH, Listing, as_text, walk

__all__ = [
    "MAX_DEPTH",
    "MAX_LINKS",
    "MAX_NESTING",
    "TEMP_PREFIX",
    "Fenced",
    "Found",
    "FsError",
    "IsDir",
    "Listing",
    "Missing",
    "Outside",
    "Root",
    "TooLarge",
    "WrongKind",
    "as_text",
    "kind_of",
    "list_dir",
    "read_bytes",
    "read_found",
    "read_head",
    "regular",
    "size_text",
    "stat_path",
    "walk",
    "write_bytes",
]
