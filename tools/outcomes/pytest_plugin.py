"""A pytest plugin that reports per-test outcomes as machine lines on the terminal.

This file is not imported by the agent: its text is written to a temporary folder in the
sandbox and loaded by the pytest run there (``PYTEST_PLUGINS``), so it runs on whatever
Python and pytest the project has (3.7 and pytest 5 at least) and imports nothing else.

Each record is one line, ``<mark>{json}``, written with one ``write`` to the terminal's
file descriptor while pytest's capture is suspended: the counts so far (at most a few a
second), each failure at once with its message and location, and the closing counts. The
mark (with a random part the agent chooses) comes in ``ASYNCFC_OUTCOMES_MARK``; the
variable is removed at once, so a pytest that the tests start themselves stays quiet.

The records are few, so that a long suite's do not crowd out its output: counts go out
at most every 0.2 s and, when the total is known, only after another 0.5% of it is done;
only the first failures carry their details (the agent keeps no more).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

_MARK = os.environ.pop("ASYNCFC_OUTCOMES_MARK", "")
_INTERVAL_S = 0.2
_UNKNOWN_TOTAL_INTERVAL_S = 1.0
_STEPS = 200
_DETAILED = 10
_MESSAGE_CHARS = 1000
_ID_CHARS = 300
_claimed: list[Any] = []  # the config this process reports for (an inner run stays quiet)


def pytest_configure(config: Any) -> None:
    if not _MARK or _claimed:
        return
    _claimed.append(config)
    config.pluginmanager.register(_Reporter(config), "asyncfc-outcomes-reporter")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Reporter:
    def __init__(self, config: Any) -> None:
        self.config = config
        self.counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
        self.total: int | None = None
        self.sent = 0.0
        self.sent_done = 0
        self.detailed = 0

    # -- hooks -------------------------------------------------------------------------

    def pytest_collection_finish(self, session: Any) -> None:
        self.total = len(getattr(session, "items", []) or [])
        self._send({})

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.counts["errors"] += 1
            self._failed(report, "error")

    def pytest_runtest_logreport(self, report: Any) -> None:
        status = self._status(report)
        if status is None:
            return
        self.counts[status] += 1
        if status in ("failed", "errors"):
            self._failed(report, "error" if status == "errors" else "failed")
        elif self._due():
            self._send({})

    def _failed(self, report: Any, kind: str) -> None:
        if self.detailed < _DETAILED:
            self.detailed += 1
            self._send({"failure": self._failure(report, kind)})
        elif self._due():
            self._send({})

    def _due(self) -> bool:
        since = time.monotonic() - self.sent
        if not self.total:
            return since >= _UNKNOWN_TOTAL_INTERVAL_S
        step = max(1, self.total // _STEPS)
        return since >= _INTERVAL_S and sum(self.counts.values()) - self.sent_done >= step

    def pytest_sessionfinish(self, session: Any, exitstatus: Any) -> None:
        self._send({"final": True})

    # -- reading reports ---------------------------------------------------------------

    @staticmethod
    def _status(report: Any) -> str | None:
        """Counted as pytest's summary counts: a failing setup or teardown is an error,
        an expected failure is a skip and an unexpected pass a pass."""
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                return "passed" if report.passed else "skipped"
            return {"passed": "passed", "failed": "failed", "skipped": "skipped"}.get(report.outcome)
        if report.failed:
            return "errors"
        if report.skipped and report.when == "setup":
            return "skipped"
        return None

    def _failure(self, report: Any, kind: str) -> dict[str, str]:
        message, location = "", ""
        longrepr = getattr(report, "longrepr", None)
        crash = getattr(longrepr, "reprcrash", None)
        if crash is not None:
            message = str(getattr(crash, "message", ""))
            location = f"{self._relative(str(crash.path))}:{crash.lineno}"
            entry = self._test_entry(longrepr)
            if entry and entry != location:
                location = f"{entry} -> {location}"  # the test's line, then where it was raised
        elif isinstance(longrepr, tuple) and len(longrepr) == 3:
            location, message = f"{longrepr[0]}:{longrepr[1]}", str(longrepr[2])
        elif longrepr is not None:
            lines = [line for line in str(longrepr).splitlines() if line.strip()]
            message = lines[-1] if lines else ""
        if not location and getattr(report, "location", None):
            path, line, _name = report.location
            location = f"{path}:{(line or 0) + 1}"
        test = report.nodeid or "(collection)"
        if kind == "error" and report.when in ("setup", "teardown"):
            test += f" [{report.when}]"
        return {"test": _clip(test, _ID_CHARS), "message": _clip(message, _MESSAGE_CHARS),
                "location": _clip(location, _ID_CHARS), "kind": kind}

    def _test_entry(self, longrepr: Any) -> str:
        """Where in the test the failure came from (the first entry of its traceback)."""
        entries = getattr(getattr(longrepr, "reprtraceback", None), "reprentries", None) or []
        loc = getattr(entries[0], "reprfileloc", None) if entries else None
        if loc is None:
            return ""
        return f"{self._relative(str(loc.path))}:{loc.lineno}"

    def _relative(self, path: str) -> str:
        root = str(getattr(self.config, "rootdir", "") or "")
        if root and path.startswith(root.rstrip("/") + "/"):
            return path[len(root.rstrip("/")) + 1 :]
        return path

    # -- writing -----------------------------------------------------------------------

    def _send(self, extra: dict[str, Any]) -> None:
        record = dict(self.counts, total=self.total, **extra)
        data = (_MARK + json.dumps(record) + "\n").encode("utf-8", "replace")
        self.sent, self.sent_done = time.monotonic(), sum(self.counts.values())
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        stream: Any = getattr(getattr(terminal, "_tw", None), "_file", None) or sys.__stdout__
        try:
            # after what the terminal reporter wrote, in one write: a line of progress
            # dots may be open, and the record is cut out of it again on the other side
            stream.flush()
            os.write(stream.fileno(), data)
        except (AttributeError, OSError, ValueError):
            try:
                stream.write(data.decode("utf-8"))
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
