"""Replaying a job from its log: the same batch through the same pipeline, here.

    python3 -m etl.replay LOG            replay; the traceback if it fails
    python3 -m etl.replay --where LOG    only the source file of the stage that fails
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from . import ROOT
from .log import header
from .pipeline import run


def failing_source(exc: BaseException) -> str | None:
    """The file of the innermost frame of the package's stages, relative to the root."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(ROOT / "etl" / "stages"):
            found = path.relative_to(ROOT).as_posix()
    return found


def main(argv: list[str]) -> int:
    where = "--where" in argv
    args = [a for a in argv if a != "--where"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    batch = Path(header(Path(args[0]))["batch"])
    try:
        db = run(batch)
    except Exception as exc:
        if where:
            print(failing_source(exc) or "etl/pipeline.py")
            return 0
        traceback.print_exc()
        return 1
    count = db.execute("select count(*) from orders").fetchone()[0]
    if where:
        print("nothing fails", file=sys.stderr)
        return 1
    print(f"replay of {batch}: {count} orders loaded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
