"""pytest's outcomes: records of the plugin when it is loaded, else its terminal lines.

The plugin (``pytest_plugin.py``) is the robust source: one machine line per change,
with each failure's message and location. It is loaded through the environment, which a
run can defeat (a wrapper that clears the environment, ``-p no:...``); then the terminal
output is read instead: verbose lines (``tests/a.py::test_x PASSED [ 50%]``), progress
dots, the short summary (``FAILED tests/a.py::test_x - assert 1 == 2``) and the closing
counts line.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from importlib import resources

from .model import Failure
from .stream import Parser

#: The start of every record's mark; the mark adds a random part per run.
MARK_PREFIX = "@@asyncfc-outcome:"
PLUGIN_MODULE = "_asyncfc_outcomes"

_VERBOSE = re.compile(
    r"^(?P<id>\S+::\S.*?) (?P<word>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b.*?(?:\[\s*\d+%\])?\s*$"
)
_DOTS = re.compile(r"^(?:\S+\.py )?(?P<dots>[.FEsxX]+)\s*(?:\[\s*\d+%\])?\s*$")
_SUMMARY = re.compile(r"^=*\s*(?P<counts>(?:\d+ \w+,? ?)+) in [\d.]+s\b")
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")
_SHORT = re.compile(r"^(?P<word>FAILED|ERROR) (?P<id>\S+)(?: - (?P<message>.*))?$")
_WORDS = {"PASSED": "passed", "FAILED": "failed", "ERROR": "errors", "SKIPPED": "skipped",
          "XFAIL": "skipped", "XPASS": "passed"}
_DOT_WORDS = {".": "passed", "F": "failed", "E": "errors", "s": "skipped", "x": "skipped",
              "X": "passed"}


def new_mark() -> str:
    return f"{MARK_PREFIX}{secrets.token_hex(6)}@@"


def plugin_source() -> str:
    return resources.files(__package__).joinpath("pytest_plugin.py").read_text(encoding="utf-8")


def with_plugin(command: str, mark: str) -> str:
    """``command`` run with the plugin loaded into any pytest it starts.

    The plugin is written to a temporary folder of the sandbox (never the workspace),
    put on ``PYTHONPATH`` and named in ``PYTEST_PLUGINS``; the folder is removed at the
    end. Where no temporary folder can be made, the command runs as it is.
    """
    end = "ASYNCFC_OUTCOMES_PLUGIN_END"
    return (
        f"__afc=$(mktemp -d 2>/dev/null) && cat > \"$__afc/{PLUGIN_MODULE}.py\" <<'{end}' || __afc=\n"
        f"{plugin_source()}\n{end}\n"
        "if [ -n \"$__afc\" ]; then\n"
        "  trap 'rm -rf -- \"$__afc\"' EXIT; trap 'exit 143' TERM; trap 'exit 130' INT\n"
        f"  export PYTHONPATH=\"$__afc${{PYTHONPATH:+:$PYTHONPATH}}\""
        f" PYTEST_PLUGINS=\"{PLUGIN_MODULE}${{PYTEST_PLUGINS:+,$PYTEST_PLUGINS}}\""
        f" ASYNCFC_OUTCOMES_MARK={shlex.quote(mark)}\n"
        "fi\n"
        f"{command}\n"
    )


class PytestParser(Parser):
    format = "pytest"

    def __init__(self, mark: str = "") -> None:
        super().__init__()
        self.mark = mark
        self.structured = False  # the plugin's records were seen: terminal lines only help

    def hold(self, partial: str) -> int:
        at = partial.find("@")
        while at != -1:
            rest = partial[at : at + len(MARK_PREFIX)]
            if MARK_PREFIX.startswith(rest) or rest.startswith(MARK_PREFIX):
                return at
            at = partial.find("@", at + 1)
        return len(partial)

    def feed(self, line: str) -> str:
        if self.mark:
            at = line.find(self.mark)
            if at != -1:
                self._record(line[at + len(self.mark) :])
                return line[:at]
        text = line.rstrip("\n").rstrip()
        if self.structured:
            return line
        if m := _SUMMARY.match(text):
            self._summary(m["counts"])
        elif m := _VERBOSE.match(text):
            status = _WORDS[m["word"]]
            if status in ("failed", "errors"):
                self.outcomes.fail(Failure.make(m["id"], kind="error" if status == "errors" else "failed"))
            else:
                self.outcomes.count(status)
        elif m := _SHORT.match(text):
            test, message = m["id"], m["message"] or ""
            if not self.outcomes.detail(test, message):
                known = any(f.test == test for f in self.outcomes.failures)
                if not known:  # -q shows dots only: the failure was counted, not named
                    kind = "error" if m["word"] == "ERROR" else "failed"
                    self.outcomes.fail(Failure.make(test, message, kind=kind), counted=False)
        elif (m := _DOTS.match(text)) and (text.endswith("%]") or " " in text):
            for char in m["dots"]:
                self.outcomes.count(_DOT_WORDS[char])
        return line

    def _record(self, raw: str) -> None:
        try:
            record = json.loads(raw)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        if not self.structured:  # what the terminal lines gave is replaced
            self.structured = True
            self.outcomes.failures.clear()
        failure = record.get("failure")
        if isinstance(failure, dict):
            self.outcomes.fail(Failure.from_dict(failure), counted=False)
        total = record.get("total")
        counts = {k: v for k, v in record.items() if isinstance(v, int) and not isinstance(v, bool)}
        if record.get("final") is True:
            self.outcomes.settle(counts, total if isinstance(total, int) else None)
            return
        for name in ("passed", "failed", "errors", "skipped"):
            if isinstance(counts.get(name), int):
                setattr(self.outcomes, name, counts[name])
        if isinstance(total, int) and total > 0:
            self.outcomes.total = total
        self.outcomes.version += 1

    def _summary(self, counts_text: str) -> None:
        counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
        for n, word in _COUNT.findall(counts_text):
            name = {"error": "errors", "xfailed": "skipped", "xpassed": "passed"}.get(word, word)
            if name in counts:
                counts[name] += int(n)
        self.outcomes.settle(counts)
