"""A parse worker: ``python -m asyncfc_agent.codenav.worker ROOT`` reads paths relative to
ROOT on stdin, each ended by a NUL byte, and writes one JSON object on stdout: path -> tags (in the
form of ``FileTags.to_data``) for each file it could read.

A plain child process, rather than a multiprocessing pool, because a pool's children
import the parent's ``__main__`` (which may be a script with side effects, or stdin).
"""

from __future__ import annotations

import json
import sys

from ..safefs import Root
from .index import parse_file


def main() -> None:
    root = Root(sys.argv[1])
    found = {}
    for rel in sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\0"):
        if not rel:
            continue
        tags = parse_file(root, rel)
        if tags is not None:
            found[rel] = tags.to_data()
    json.dump(found, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
