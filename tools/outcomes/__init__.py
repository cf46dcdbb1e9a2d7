"""Typed partial results of test runs: per-test outcomes read from a suite's output as it
streams (pytest, unittest, ``go test``, ``cargo test``, jest), and the failures-first summary of a
finished run.

``formats_for`` says which formats a command may print; ``parsers`` makes their readers;
``run.exec_with_outcomes`` runs a command with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .cargo_format import CargoParser
from .go_format import GoParser
from .jest_format import JestParser
from .model import MAX_FAILURES, Failure, Outcomes
from .pytest_format import PytestParser
from .stream import OutcomeStream, Parser, replay
from .unittest_format import UnittestParser

__all__ = ["FORMATS", "MAX_FAILURES", "Failure", "OutcomeStream", "Outcomes", "Parser", "failure_lines", "formats_for", "parsers",
           "replay", "summary"]

FORMATS = ("pytest", "unittest", "go", "cargo", "jest")

#: Where a command word stands: at the start, after ``;``, ``&&``, ``|`` or ``(``, after a
#: runner (``uv run``, ``npx``, ``timeout 60``), after variables set for it, with a path.
_AT_COMMAND = (r"(?:^|[;&|(]|\b(?:run|exec|npx|timeout\s+\S+|env|nice|time|xvfb-run)\s)"
               r"\s*(?:\w+=\S*\s+)*(?:\S*/)?")
#: What a command's words say it runs.
_COMMAND_FORMATS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(_AT_COMMAND + r"py\.?test\b|-m\s+pytest\b"), ("pytest",)),
    (re.compile(r"-m\s+unittest\b"), ("unittest",)),
    (re.compile(_AT_COMMAND + r"go\s+test\b"), ("go",)),
    (re.compile(_AT_COMMAND + r"cargo\s+(?:\+\S+\s+)?test\b"), ("cargo",)),
    (re.compile(_AT_COMMAND + r"(?:jest\b|react-scripts\s+test\b|(?:npm|yarn|pnpm)\s+(?:run\s+)?test\b|npm\s+t\b)"),
     ("jest",)),
    (re.compile(_AT_COMMAND + r"(?:make\b.*\btest|tox\b|nox\b)"), FORMATS),
]
#: The formats of a detected test command's kind (``tools.detect``).
_KIND_FORMATS: dict[str, tuple[str, ...]] = {
    "pytest": ("pytest",), "unittest": ("unittest",), "go": ("go",), "cargo": ("cargo",), "npm": ("jest",),
    "make": FORMATS, "configured": FORMATS,
}


def formats_for(command: str, kind: str | None = None) -> tuple[str, ...]:
    """The outcome formats ``command`` may print (empty: it is not recognisably a test
    command). A detected kind decides; a configured or typed command is read."""
    if kind is not None and kind != "configured":
        return _KIND_FORMATS.get(kind, ())
    found: list[str] = []
    for pattern, formats in _COMMAND_FORMATS:
        if pattern.search(command):
            found += [f for f in formats if f not in found]
    if not found and kind == "configured":
        return FORMATS  # a script of the project's: read whatever it prints
    return tuple(found)


def parsers(formats: Sequence[str], mark: str = "") -> list[Parser]:
    made: list[Parser] = []
    for name in formats:
        if name == "pytest":
            made.append(PytestParser(mark))
        elif name == "unittest":
            made.append(UnittestParser())
        elif name == "go":
            made.append(GoParser())
        elif name == "cargo":
            made.append(CargoParser())
        elif name == "jest":
            made.append(JestParser())
    return made


def failure_lines(failures: Sequence[Failure], indent: str = "  ") -> list[str]:
    lines: list[str] = []
    for f in failures:
        lines.append(f.head())
        lines += [indent + line for line in f.message.splitlines()]
    return lines


def summary(outcomes: Outcomes) -> str:
    """The start of a finished run's result: the counts, then each failure kept (its
    test, location and message), failures first."""
    lines = [f"[tests ({outcomes.format}): {outcomes.describe(failures_first=True)}]"]
    lines += failure_lines(outcomes.failures)
    more = outcomes.failing - len(outcomes.failures)
    if more > 0:
        note = f" (the first {MAX_FAILURES} are above)" if len(outcomes.failures) == MAX_FAILURES else ""
        lines.append(f"[... and {more} more failing{note}: see the log]")
    return "\n".join(lines)
