"""The trajectory: every event of a run as one JSON line, written as it happens.

Each line is flushed at once, so a crash or a Ctrl-C leaves a complete record of
everything up to that moment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from .events import Event


class TrajectoryWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = path.open("a", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        self.write(event.to_dict())

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_trajectory(path: Path) -> list[dict[str, Any]]:
    """The events of a trajectory file; a torn last line (a killed run) is skipped."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events
