"""``cargo test``'s outcomes, from libtest's plain lines (its JSON format needs nightly).

Each test's line (``test tests::adds ... FAILED``) comes as the test ends; why it failed
comes after the last test of its binary (``---- tests::adds stdout ----`` then the panic,
``thread 'tests::adds' panicked at src/lib.rs:20:9:`` and the message). A binary's
``test result:`` line gives its counts; a compile error is counted as an error.
"""

from __future__ import annotations

import re

from .model import COUNTS, Failure
from .stream import Parser

_RUNNING = re.compile(r"^running (\d+) tests?$")
_TEST = re.compile(r"^test (?P<name>.+?) \.\.\. (?P<word>ok|FAILED|ignored)\b")
_BLOCK = re.compile(r"^---- (?P<name>.+?) std(?:out|err) ----$")
# rust 1.73 and later: the place ends the line and the message follows it
_PANIC = re.compile(r"^thread '.*?'(?: \(\d+\))? panicked at (?P<where>\S+?:\d+:\d+):$")
# before: panicked at 'message', place (the message may span lines)
_OLD_PANIC = re.compile(r"^thread '.*?' panicked at '(?P<message>.*)$")
_OLD_END = re.compile(r"^(?P<message>.*)', (?P<where>\S+?:\d+:\d+)$")
_RESULT = re.compile(
    r"^test result: \w+\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored"
)
_ERROR = re.compile(r"^error(?:\[E\d+\])?: (?P<message>.+)$")
_ARROW = re.compile(r"^\s*--> (?P<where>\S+?:\d+:\d+)")
_COULD_NOT = re.compile(r"^error: could not compile `(?P<crate>[^`]+)`")
_SUMMARY_ERRORS = ("test failed", "doctest failed", "could not compile", "aborting due to")
_WORDS = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}


class CargoParser(Parser):
    format = "cargo"

    def __init__(self) -> None:
        super().__init__()
        self._block = ""  # the failure whose output is being read
        self._where = ""
        self._message: list[str] | None = None  # lines of the panic message being read
        self._old = False
        self._results = dict.fromkeys(COUNTS, 0)
        self._has_results = False
        self._compile_error: tuple[str, str] | None = None

    def feed(self, line: str) -> str:
        text = line.rstrip("\n")
        if self._message is not None and self._reading(text):
            return line
        if m := _TEST.match(text):
            status = _WORDS[m["word"]]
            if status == "failed":
                self.outcomes.fail(Failure.make(m["name"]))
            else:
                self.outcomes.count(status)
        elif m := _RUNNING.match(text):
            self.outcomes.total = (self.outcomes.total or 0) + int(m[1])
            self.outcomes.version += 1
        elif m := _BLOCK.match(text):
            self._block, self._where = m["name"], ""
        elif self._block and (m := _PANIC.match(text)):
            self._where, self._message, self._old = m["where"], [], False
        elif self._block and (m := _OLD_PANIC.match(text)):
            self._message, self._old = [], True
            self._reading(m["message"])
        elif m := _RESULT.match(text):
            self._has_results = True
            for name, key in (("passed", "passed"), ("failed", "failed"), ("skipped", "ignored")):
                self._results[name] += int(m[key])
        else:
            self._compile(text)
        return line

    def _reading(self, text: str) -> bool:
        """A line of a panic message (True), or the line after its end (False)."""
        assert self._message is not None
        if self._old:
            if m := _OLD_END.match(text):
                self._message.append(m["message"])
                self._where = m["where"]
                self._done()
            else:
                self._message.append(text)
            return True
        if not text.strip() or text.startswith(("note: ", "stack backtrace:")):
            self._done()
            return False
        self._message.append(text)
        return True

    def _done(self) -> None:
        self.outcomes.detail(self._block, "\n".join(self._message or []), self._where)
        self._block, self._message = "", None

    def _compile(self, text: str) -> None:
        if m := _COULD_NOT.match(text):
            message, where = self._compile_error or ("", "")
            self.outcomes.fail(Failure.make(f"build of {m['crate']}", message, where, kind="error"))
            self._results["errors"] += 1
            self._compile_error = None
        elif (m := _ERROR.match(text)) and not m["message"].startswith(_SUMMARY_ERRORS):
            if self._compile_error is None and not m["message"][:1].isdigit():
                self._compile_error = (m["message"], "")
        elif (m := _ARROW.match(text)) and self._compile_error and not self._compile_error[1]:
            self._compile_error = (self._compile_error[0], m["where"])

    def finish(self) -> None:
        if self._message is not None:
            self._done()
        # the binaries' own counts, where lines of their tests went missing (a cut output)
        if self._has_results and sum(self._results.values()) > self.outcomes.done:
            self.outcomes.settle(self._results)
