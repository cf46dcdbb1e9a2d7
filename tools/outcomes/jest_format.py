"""jest's outcomes, from its default reporter's lines.

A file's line (``PASS src/a.test.js``, ``FAIL ...``) comes when the file ends; with
``--verbose`` (or a single file) each test has a line (``✓ adds (3 ms)``, ``✕``, ``○``).
A failure is explained in a block under the file: ``● Calculator > adds`` (jest joins
the names with U+203A, not ``>``), the message, a code frame and the stack, whose first
frame outside node_modules is the location. ``Tests: 1 failed, 4 passed, 5 total`` closes the run with its counts. Without
per-test lines, passing tests are only counted at that closing line.
"""

from __future__ import annotations

import re

from .model import Failure
from .stream import Parser

_FILE = re.compile(r"^\s*(?P<word>PASS|FAIL)\s+(?P<path>\S+)")
_TEST = re.compile(r"^\s+(?P<mark>[✓✔√✕✗\u00d7○✎])\s+(?:(?:skipped|todo)\s+)?(?P<title>.+?)(?: \(\d+(?:\.\d+)? ?m?s\))?$")
_HEADER = re.compile(r"^\s+● (?P<name>.+)$")
_FRAME = re.compile(r"^\s+>?\s*\d+ \|")
_AT = re.compile(r"^\s+at (?:.*\()?(?P<where>[^()\s]+?:\d+:\d+)\)?$")
_TOTALS = re.compile(r"^Tests:\s+(?P<counts>.*\d+ total)")
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|todo|total)")
_MARKS = {"✓": "passed", "✔": "passed", "√": "passed", "✕": "failed", "✗": "failed",
          "\u00d7": "failed", "○": "skipped", "✎": "skipped"}
SUITE_FAILED = "Test suite failed to run"
#: Between the names of a describe block and its test.
SEPARATOR = " \u203a "


class JestParser(Parser):
    format = "jest"

    def __init__(self) -> None:
        super().__init__()
        self._file = ""
        self._verbose = False  # per-test lines are printed: they count, the blocks explain
        self._block: str | None = None  # the failure whose block is being read
        self._lines: list[str] = []

    def feed(self, line: str) -> str:
        text = line.rstrip("\n")
        if m := _HEADER.match(text):
            self._end_block()
            self._start_block(m["name"].strip())
        elif m := _FILE.match(text):
            self._end_block()
            self._file = m["path"]
        elif m := _TOTALS.match(text):
            self._end_block()
            self._totals(m["counts"])
        elif self._block is not None:
            self._lines.append(text)
        elif m := _TEST.match(text):
            self._verbose = True
            status = _MARKS[m["mark"]]
            if status == "failed":
                self.outcomes.fail(Failure.make(m["title"], location=self._file))
            else:
                self.outcomes.count(status)
        return line

    def _start_block(self, name: str) -> None:
        self._block, self._lines = name, []
        if name == SUITE_FAILED:
            self._block = self._file or name
            self.outcomes.fail(Failure.make(self._block, kind="error"))
            return
        leaf = name.rsplit(SEPARATOR, 1)[-1]
        for i, f in enumerate(self.outcomes.failures):
            if f.test == leaf and not f.message:  # the verbose line named its title only
                self.outcomes.failures[i] = Failure.make(name, location=f.location)
                return
        if not self._verbose:
            self.outcomes.fail(Failure.make(name, location=self._file))

    def _end_block(self) -> None:
        if self._block is None:
            return
        message: list[str] = []
        where, in_message = "", True
        for text in self._lines:  # the message, then a code frame and the stack
            if m := _AT.match(text):
                in_message = False
                internal = "node_modules" in m["where"] or m["where"].startswith("node:")
                if not where and not internal:
                    where = m["where"]
            elif _FRAME.match(text):
                in_message = False
            elif in_message and (message or text.strip()):
                message.append(text.strip())
        while message and not message[-1]:
            message.pop()
        self.outcomes.detail(self._block, "\n".join(message), where)
        self._block, self._lines = None, []

    def _totals(self, counts_text: str) -> None:
        counts = {"passed": 0, "failed": 0, "errors": self.outcomes.errors, "skipped": 0}
        for n, word in _COUNT.findall(counts_text):
            if word in ("passed", "failed"):
                counts[word] += int(n)
            elif word in ("skipped", "todo"):
                counts["skipped"] += int(n)
        self.outcomes.settle(counts)

    def finish(self) -> None:
        self._end_block()
