"""Per-test outcomes of a test run: counts so far and the first failures, as typed data.

A parser (one per output format) folds a suite's output into an ``Outcomes`` while the
suite runs. Everything in it comes from the sandbox's output, so every text is capped
here; views still sanitize it before a terminal sees it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

#: The counts, in the order they are reported.
COUNTS = ("passed", "failed", "errors", "skipped")
#: Failures kept with their details; past them only the counts grow.
MAX_FAILURES = 10
#: Characters of a failure's message, test id and location kept.
MESSAGE_CHARS = 800
MESSAGE_LINES = 8
ID_CHARS = 300
LOCATION_CHARS = 200


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip_message(text: str) -> str:
    lines = text.strip("\n").splitlines()
    if len(lines) > MESSAGE_LINES:
        lines = [*lines[:MESSAGE_LINES], f"[... {len(lines) - MESSAGE_LINES} more lines]"]
    return clip("\n".join(line.rstrip() for line in lines), MESSAGE_CHARS)


@dataclass(frozen=True)
class Failure:
    """One failing test (``kind`` "failed") or a test or file that could not run ("error")."""

    test: str
    message: str = ""
    location: str = ""  # "path:line", where the failure was raised
    kind: str = "failed"

    @classmethod
    def make(cls, test: str, message: str = "", location: str = "", kind: str = "failed") -> Failure:
        return cls(clip(test.strip(), ID_CHARS), clip_message(message),
                   clip(location.strip(), LOCATION_CHARS), kind)

    def head(self) -> str:
        """``FAILED tests/test_a.py::test_x (tests/test_a.py:12)``."""
        where = f" ({self.location})" if self.location else ""
        return f"{'ERROR' if self.kind == 'error' else 'FAILED'} {self.test}{where}"

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        return cls.make(str(data.get("test", "")), str(data.get("message") or ""),
                        str(data.get("location") or ""),
                        "error" if data.get("kind") == "error" else "failed")


@dataclass
class Outcomes:
    """What a test run has reported so far."""

    format: str  # the parser that read it: pytest, go, cargo, jest
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    total: int | None = None  # tests the run will run, when the tool says
    failures: list[Failure] = field(default_factory=list)  # the first MAX_FAILURES
    final: bool = False  # the tool's own closing summary was read: the counts are its
    version: int = 0  # bumped at every change

    # -- folding -------------------------------------------------------------------------

    def count(self, status: str, n: int = 1) -> None:
        setattr(self, status, getattr(self, status) + n)
        self.version += 1

    def fail(self, failure: Failure, *, counted: bool = True) -> None:
        """A failure: counted (unless the caller counted it) and kept while there is room."""
        if counted:
            self.count("errors" if failure.kind == "error" else "failed")
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(failure)
            self.version += 1

    def detail(self, test: str, message: str = "", location: str = "") -> bool:
        """Fill in the message and location of a failure already kept (formats that name a
        failing test first and explain it later); False when it is not kept."""
        for i, f in enumerate(self.failures):
            if f.test == test and not f.message:
                self.failures[i] = Failure.make(f.test, message, location or f.location, f.kind)
                self.version += 1
                return True
        return False

    def settle(self, counts: dict[str, int], total: int | None = None) -> None:
        """The tool's closing counts replace the ones folded so far."""
        for name in COUNTS:
            setattr(self, name, int(counts.get(name, 0)))
        if total is not None:
            self.total = total
        self.final = True
        self.version += 1

    # -- reading -------------------------------------------------------------------------

    @property
    def failing(self) -> int:
        return self.failed + self.errors

    @property
    def done(self) -> int:
        return sum(self.counts().values())

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}

    def describe(self, *, failures_first: bool = False) -> str:
        """``12 passed, 1 failed`` (``1 failed, 12 passed`` failures first), with
        ``(13/40)`` when the total is known and not reached."""
        order = ("failed", "errors", "passed", "skipped") if failures_first else COUNTS
        words = {"errors": "error" if self.errors == 1 else "errors"}
        parts = [f"{getattr(self, n)} {words.get(n, n)}" for n in order if getattr(self, n)]
        text = ", ".join(parts) or "no test results yet"
        if self.total and self.done < self.total:
            text += f" ({self.done}/{self.total})"
        return text

    def copy(self) -> Outcomes:
        return dataclasses.replace(self, failures=list(self.failures))

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, **self.counts(), "total": self.total,
                "failures": [f.to_dict() for f in self.failures], "final": self.final}
