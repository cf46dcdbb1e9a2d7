"""The trajectory: every event of a run as one JSON line, written as it happens.

Each line is flushed at once, so a crash or a Ctrl-C leaves a complete record of
everything up to that moment. A write that fails (a full disk) never raises into the
publisher: the writer stops, keeps the reason, and calls ``on_error`` once, so the run
can end with a clear error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .events import Event


class TrajectoryWriter:
    def __init__(self, path: Path, on_error: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.on_error = on_error
        #: Why the record could not be written, once a write failed.
        self.error: str | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        # a file name may hold bytes that are not UTF-8 (kept as surrogates): written escaped
        self._file: IO[str] | None = path.open("a", encoding="utf-8", errors="backslashreplace")

    def __call__(self, event: Event) -> None:
        self.write(event.to_dict())

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        try:
            self._file.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
            self._file.flush()
        except OSError as exc:
            self.error = f"cannot write the trajectory {self.path}: {exc.strerror or exc}"
            self.close()
            if self.on_error is not None:
                self.on_error(self.error)

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError as exc:  # the last buffered bytes did not fit
                self.error = self.error or f"cannot write the trajectory {self.path}: {exc.strerror or exc}"


def read_trajectory(path: Path) -> list[dict[str, Any]]:
    """The events of a trajectory file; a torn last line (a killed run) is skipped."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events
