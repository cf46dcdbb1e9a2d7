"""The scheduler's record of the import jobs.

    python3 -m etl.jobs last-failed     the log of the most recent failed run
    python3 -m etl.jobs list            every run, newest first
"""

from __future__ import annotations

import sys
from pathlib import Path

from .upstream import call

JOBS = Path("var/jobs.json")


def runs() -> list[dict[str, str]]:
    return sorted(call("scheduler", JOBS), key=lambda r: r["started"], reverse=True)


def last_failed() -> dict[str, str] | None:
    return next((r for r in runs() if r["status"] == "failed"), None)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "list"
    if command == "last-failed":
        run = last_failed()
        if run is None:
            print("no failed run", file=sys.stderr)
            return 1
        print(run["log"])
        return 0
    if command == "list":
        for r in runs():
            print(f"{r['started']}  {r['status']:<8} {r['log']}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
