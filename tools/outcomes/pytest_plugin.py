# ruff: noqa: UP004, UP031, UP035
"""A pytest plugin that reports per-test outcomes as machine lines on the terminal.

This file is not imported by the agent: its text is written to a temporary folder in the
sandbox and loaded by the pytest run there (``PYTEST_PLUGINS``), so it runs on whatever
Python and pytest the project has. It is written for any of them (Python 2.7 syntax,
types in comments, no f-strings) and imports nothing else; every hook swallows its own
errors, so that it can never break a run, only fail to report it.

Each record is one line, ``<mark>{json}``, written with one ``write`` to the terminal's
file descriptor while pytest's capture is suspended: the counts so far, each failure at
once with its message and location, and the closing counts. The mark (with a random part
the agent chooses) comes in ``ASYNCFC_OUTCOMES_MARK``; the variable is removed at once,
so a pytest that the tests start themselves stays quiet.

The records are few, so that a long suite's do not crowd out its output: counts go out
at most every 0.2 s and, when the total is known, only after another 0.5% of it is done;
only the first failures carry their details (the agent keeps no more).
"""

import json
import os
import sys
import time

try:
    from typing import Any, Dict, List, Optional  # noqa: F401 (types in comments)
except ImportError:  # Python 2 without the typing backport
    pass

_MARK = os.environ.pop("ASYNCFC_OUTCOMES_MARK", "")
_INTERVAL_S = 0.2
_UNKNOWN_TOTAL_INTERVAL_S = 1.0
_STEPS = 200
_DETAILED = 10
_MESSAGE_CHARS = 1000
_ID_CHARS = 300
_clock = getattr(time, "monotonic", time.time)
_claimed = []  # type: List[Any]  # the config this process reports for (an inner run stays quiet)


def pytest_configure(config):
    # type: (Any) -> None
    if not _MARK or _claimed:
        return
    try:
        _claimed.append(config)
        config.pluginmanager.register(_Reporter(config), "asyncfc-outcomes-reporter")
    except Exception:
        pass


def _clip(text, limit):
    # type: (str, int) -> str
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Reporter(object):
    def __init__(self, config):
        # type: (Any) -> None
        self.config = config
        self.counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
        self.total = None  # type: Optional[int]
        self.sent = 0.0
        self.sent_done = 0
        self.detailed = 0

    # -- hooks -------------------------------------------------------------------------

    def pytest_collection_finish(self, session):
        # type: (Any) -> None
        try:
            self.total = len(getattr(session, "items", []) or [])
            self._send({})
        except Exception:
            pass

    def pytest_collectreport(self, report):
        # type: (Any) -> None
        try:
            if report.failed:
                self.counts["errors"] += 1
                self._failed(report, "error")
        except Exception:
            pass

    def pytest_runtest_logreport(self, report):
        # type: (Any) -> None
        try:
            status = self._status(report)
            if status is None:
                return
            self.counts[status] += 1
            if status in ("failed", "errors"):
                self._failed(report, "error" if status == "errors" else "failed")
            elif self._due():
                self._send({})
        except Exception:
            pass

    def pytest_sessionfinish(self, session, exitstatus):
        # type: (Any, Any) -> None
        try:
            self._send({"final": True})
        except Exception:
            pass

    # -- reading reports ---------------------------------------------------------------

    def _failed(self, report, kind):
        # type: (Any, str) -> None
        if self.detailed < _DETAILED:
            self.detailed += 1
            self._send({"failure": self._failure(report, kind)})
        elif self._due():
            self._send({})

    def _due(self):
        # type: () -> bool
        since = _clock() - self.sent
        if not self.total:
            return since >= _UNKNOWN_TOTAL_INTERVAL_S
        step = max(1, self.total // _STEPS)
        return since >= _INTERVAL_S and sum(self.counts.values()) - self.sent_done >= step

    @staticmethod
    def _status(report):
        # type: (Any) -> Optional[str]
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

    def _failure(self, report, kind):
        # type: (Any, str) -> Dict[str, str]
        message, location = "", ""
        longrepr = getattr(report, "longrepr", None)
        crash = getattr(longrepr, "reprcrash", None)
        if crash is not None:
            message = str(getattr(crash, "message", ""))
            location = "%s:%s" % (self._relative(str(crash.path)), crash.lineno)
            entry = self._test_entry(longrepr)
            if entry and entry != location:
                location = "%s -> %s" % (entry, location)  # the test's line, then the raise
        elif isinstance(longrepr, tuple) and len(longrepr) == 3:
            location, message = "%s:%s" % (longrepr[0], longrepr[1]), str(longrepr[2])
        elif longrepr is not None:
            lines = [line for line in str(longrepr).splitlines() if line.strip()]
            message = lines[-1] if lines else ""
        if not location and getattr(report, "location", None):
            path, line = report.location[0], report.location[1]
            location = "%s:%s" % (path, (line or 0) + 1)
        test = getattr(report, "nodeid", "") or "(collection)"
        if kind == "error" and getattr(report, "when", None) in ("setup", "teardown"):
            test += " [%s]" % report.when
        return {"test": _clip(test, _ID_CHARS), "message": _clip(message, _MESSAGE_CHARS),
                "location": _clip(location, _ID_CHARS), "kind": kind}

    def _test_entry(self, longrepr):
        # type: (Any) -> str
        """Where in the test the failure came from (the first entry of its traceback)."""
        entries = getattr(getattr(longrepr, "reprtraceback", None), "reprentries", None) or []
        loc = getattr(entries[0], "reprfileloc", None) if entries else None
        if loc is None:
            return ""
        return "%s:%s" % (self._relative(str(loc.path)), loc.lineno)

    def _relative(self, path):
        # type: (str) -> str
        root = str(getattr(self.config, "rootdir", "") or "").rstrip("/")
        if root and path.startswith(root + "/"):
            return path[len(root) + 1 :]
        return path

    # -- writing -----------------------------------------------------------------------

    def _send(self, extra):
        # type: (Dict[str, Any]) -> None
        record = dict(self.counts, total=self.total, **extra)
        data = (_MARK + json.dumps(record) + "\n").encode("utf-8", "replace")
        self.sent, self.sent_done = _clock(), sum(self.counts.values())
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        stream = getattr(getattr(terminal, "_tw", None), "_file", None) or sys.__stdout__  # type: Any
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
