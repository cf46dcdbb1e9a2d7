"""unittest's outcomes, from its verbose lines (``run_tests`` runs it with ``-v``).

Each test's line (``test_x (tests.test_a.T.test_x) ... FAIL``) comes as it ends; why it
failed comes at the end, in a block (``FAIL: test_x (...)``, the traceback, the error),
and ``Ran 6 tests`` with ``FAILED (failures=2, errors=1, skipped=1)`` closes the run.
"""

from __future__ import annotations

import re

from .model import Failure
from .stream import Parser

_TEST = re.compile(
    r"^\s*(?P<id>\S+ \([\w.]+\)(?: \(.*?\))?) \.\.\. (?P<word>ok|FAIL|ERROR|skipped\b.*|"
    r"expected failure|unexpected success)$"
)
_BLOCK = re.compile(r"^(?P<word>FAIL|ERROR): (?P<id>.+)$")
_FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+)')
_RAN = re.compile(r"^Ran (?P<n>\d+) tests? in ")
_END = re.compile(r"^(?P<verdict>OK|FAILED)(?: \((?P<counts>[^)]*)\))?$")
_WORDS = {"ok": "passed", "FAIL": "failed", "ERROR": "errors", "expected failure": "skipped",
          "unexpected success": "failed"}


class UnittestParser(Parser):
    format = "unittest"

    def __init__(self) -> None:
        super().__init__()
        self._block: str | None = None
        self._where = ""
        self._message: list[str] = []
        self._in_traceback = False
        self._ran: int | None = None

    def feed(self, line: str) -> str:
        text = line.rstrip("\n")
        # a rule of = starts a block; one of - follows its header, and ends the last one
        started = self._in_traceback or bool(self._message) or bool(self._where)
        if text.startswith(("=" * 20, "-" * 20)):
            if started or text.startswith("="):
                self._end_block()
            return line
        if m := _BLOCK.match(text):
            self._end_block()
            self._block, self._where, self._message = m["id"], "", []
            self._in_traceback = False
        elif self._block is not None:
            self._read_block(text)
        elif m := _TEST.match(text):
            word = m["word"]
            status = "skipped" if word.startswith("skipped") else _WORDS[word]
            if status in ("failed", "errors"):
                self.outcomes.fail(Failure.make(m["id"], kind="error" if status == "errors" else "failed"))
            else:
                self.outcomes.count(status)
        elif m := _RAN.match(text):
            self._ran = int(m["n"])
        elif (m := _END.match(text)) and self._ran is not None:
            self._settle(m["counts"] or "")
        return line

    def _read_block(self, text: str) -> None:
        if text.startswith("Traceback (most recent call last)"):
            self._in_traceback = True
        elif self._in_traceback and (m := _FRAME.match(text)):
            self._where = f"{m['path']}:{m['line']}"
        elif self._in_traceback and text.startswith("    "):
            pass  # the source line of a frame
        elif text.strip() or self._message:
            self._in_traceback = False
            self._message.append(text)

    def _end_block(self) -> None:
        if self._block is None:
            return
        while self._message and not self._message[-1].strip():
            self._message.pop()
        message = "\n".join(self._message)
        named = any(f.test == self._block for f in self.outcomes.failures)
        if not self.outcomes.detail(self._block, message, self._where) and not named:
            # no verbose line named it (run without -v): counted by the closing line
            self.outcomes.fail(Failure.make(self._block, message, self._where), counted=False)
        self._block = None

    def _settle(self, counts_text: str) -> None:
        found = {k.strip(): int(v) for k, v in re.findall(r"([\w ]+)=(\d+)", counts_text)}
        failed = found.get("failures", 0) + found.get("unexpected successes", 0)
        errors = found.get("errors", 0)
        skipped = found.get("skipped", 0) + found.get("expected failures", 0)
        ran = self._ran or 0
        passed = max(0, ran - failed - errors - skipped)
        self.outcomes.settle({"passed": passed, "failed": failed, "errors": errors,
                              "skipped": skipped}, ran)

    def finish(self) -> None:
        self._end_block()
