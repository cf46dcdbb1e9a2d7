"""``go test``'s outcomes: its JSON events (``-json``), or its plain lines.

With ``-json`` every line is an event (``{"Action": "pass", "Package": ..., "Test": ...}``)
and the text a person reads travels in the ``Output`` of ``output`` events: that text is
what is shown, without the ``=== RUN`` and ``--- PASS`` chatter that ``-json`` adds. A
test with subtests is not counted itself (its subtests are). Without ``-json``, ``--- FAIL``
lines name the failures and passing tests are only seen with ``-v``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .model import Failure
from .stream import Parser

_CHATTER = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "PASS\n")
_RESULT = re.compile(r"^(?P<indent>\s*)--- (?P<word>PASS|FAIL|SKIP): (?P<test>\S+)")
_LOG = re.compile(r"^\s+(?P<where>[\w./\\-]+\.go:\d+): ?(?P<message>.*)$")
_BUILD_FAILED = re.compile(r"^FAIL\s+(?P<package>\S+) \[(?P<why>[^\]]+)\]")
_WORDS = {"pass": "passed", "fail": "failed", "skip": "skipped",
          "PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}
#: Characters of one test's output kept to explain its failure.
KEEP_OUTPUT = 8_000


def test_id(package: str, test: str) -> str:
    return f"{test} ({package})" if package else test


def explain(lines: list[str]) -> tuple[str, str]:
    """The message and location of a failure, from the output of its test."""
    text = [ln.rstrip("\n") for ln in lines
            if ln.strip() and not ln.lstrip().startswith(("=== ", "--- "))]
    for i, ln in enumerate(text):
        if m := _LOG.match(ln):
            rest = [r.strip() for r in text[i + 1 :]]
            return "\n".join([m["message"], *rest]).strip(), m["where"]
    return "\n".join(t.strip() for t in text), ""


class GoParser(Parser):
    format = "go"

    def __init__(self) -> None:
        super().__init__()
        self._output: dict[tuple[str, str], list[str]] = {}  # (package, test) -> its output
        self._parents: set[tuple[str, str]] = set()
        self._failing_packages: set[str] = set()
        self._plain_counted: dict[str, str] = {}  # plain output: test -> status counted
        self._last_failure = ""

    def hold(self, partial: str) -> int:
        return 0 if partial.lstrip().startswith("{") else len(partial)

    def feed(self, line: str) -> str:
        stripped = line.strip()
        if stripped.startswith("{") and '"Action"' in stripped:
            try:
                event = json.loads(stripped)
            except ValueError:
                event = None
            if isinstance(event, dict):
                return self._event(event)
        self._plain(line.rstrip("\n"))
        return line

    # -- JSON events -----------------------------------------------------------------------

    def _event(self, e: dict[str, Any]) -> str:
        action = str(e.get("Action", ""))
        # build output (go 1.24) names "pkg [pkg.test]"
        package = str(e.get("Package") or str(e.get("ImportPath") or "").split(" ")[0])
        test = str(e.get("Test") or "")
        output = e["Output"] if isinstance(e.get("Output"), str) else ""
        if action in ("output", "build-output"):
            self._keep((package, test), output)
            return "" if output.startswith(_CHATTER) or output.lstrip().startswith("--- PASS") else output
        if action == "run" and "/" in test:
            self._parents.add((package, test.rsplit("/", 1)[0]))
        if test and action in ("pass", "fail", "skip"):
            self._test_ended(package, test, action)
        elif not test and action == "fail":
            self._package_failed(package, e)
        return ""

    def _keep(self, key: tuple[str, str], text: str) -> None:
        kept = self._output.setdefault(key, [])
        if sum(map(len, kept)) < KEEP_OUTPUT:
            kept.append(text)

    def _test_ended(self, package: str, test: str, action: str) -> None:
        output = self._output.pop((package, test), [])
        if (package, test) in self._parents:
            return  # counted through its subtests
        if action != "fail":
            self.outcomes.count(_WORDS[action])
            return
        self._failing_packages.add(package)
        message, where = explain(output)
        self.outcomes.fail(Failure.make(test_id(package, test), message, where))

    def _package_failed(self, package: str, e: dict[str, Any]) -> None:
        output = self._output.pop((package, ""), [])
        if package in self._failing_packages:
            return
        message, where = explain(output)
        if e.get("FailedBuild"):
            message = f"build failed ({e['FailedBuild']})\n{message}".strip()
        self.outcomes.fail(Failure.make(f"package {package}", message, where, kind="error"))

    # -- plain lines -----------------------------------------------------------------------

    def _plain(self, line: str) -> None:
        if m := _RESULT.match(line):
            test, status = m["test"], _WORDS[m["word"]]
            parent = test.rsplit("/", 1)[0] if "/" in test else ""
            if parent and (was := self._plain_counted.pop(parent, None)):
                self._uncount(parent, was)
            self._plain_counted[test] = status
            if status == "failed":
                self.outcomes.fail(Failure.make(test))
                self._last_failure = test
            else:
                self.outcomes.count(status)
                self._last_failure = ""
        elif self._last_failure and (m := _LOG.match(line)):
            self.outcomes.detail(self._last_failure, m["message"], m["where"])
            self._last_failure = ""
        elif m := _BUILD_FAILED.match(line):
            self.outcomes.fail(Failure.make(f"package {m['package']}", m["why"], kind="error"))

    def _uncount(self, parent: str, status: str) -> None:
        """Plain output names a test before its subtests: it is counted through them."""
        self.outcomes.count(status, -1)
        if status == "failed":
            self.outcomes.failures = [f for f in self.outcomes.failures if f.test != parent]
