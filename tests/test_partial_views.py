"""Typed partial results in the views: the live view's futures table, the plain log (and
so the REPL's lines), the REPL's toolbar and futures table."""

from __future__ import annotations

import io

from asyncfc_agent.agent import events as ev
from asyncfc_agent.agent.events import Event
from asyncfc_agent.agent.futures import Future, FutureState
from asyncfc_agent.agent.timeline import RunTracker
from asyncfc_agent.cli import repl_format
from asyncfc_agent.cli.plain import PlainLog
from asyncfc_agent.cli.report_html import future_tip, futures_html
from asyncfc_agent.cli.table import futures_table
from asyncfc_agent.tools.base import Effects
from asyncfc_agent.tools.outcomes import Failure, Outcomes
from rich.console import Console

from .tui_events import at, resolved

FAILURE = {"test": "tests/test_a.py::test_x", "message": "AssertionError: assert 1 == 2\nmore",
           "location": "tests/test_a.py:12", "kind": "failed"}


def suite(until: float) -> list[Event]:
    events = [
        at(0.0, ev.FutureCreated("f1", "run_tests", {}, [], "snapshot", 1)),
        at(0.1, ev.FutureStarted("f1", 0, True)),
        at(0.5, ev.FutureOutput("f1", ".....F")),
        at(0.6, ev.FutureProgress("f1", "pytest", 5, 1, 0, 0, 40, [FAILURE])),
        at(1.0, ev.FutureProgress("f1", "pytest", 12, 1, 0, 0, 40, [])),
        at(2.0, ev.FutureProgress("f1", "pytest", 38, 1, 0, 1, 40, [], final=True)),
        resolved(2.0, "f1", "run_tests", "resolved", 1.9, 0, exit_code=1),
    ]
    return [e for e in events if e.t <= until]


def table(events: list[Event], now: float) -> str:
    console = Console(width=140, color_system=None, force_terminal=False, record=True,
                      file=io.StringIO())
    console.print(futures_table(list(RunTracker.from_events(events).futures.values()), now, 5, 140))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def test_the_live_view_shows_the_counts_beside_a_running_suite_then_its_end() -> None:
    running = table(suite(1.0), 1.5).splitlines()[1]
    assert running.split()[:3] == ["f1", "run_tests", "running"]
    assert running.endswith("  12 passed, 1 failed (13/40) · .....F")
    done = table(suite(2.0), 3.0).splitlines()[1]
    assert done.endswith("  exit 1 · 1 failed, 38 passed, 1 skipped")
    tracker = RunTracker.from_events(suite(2.0))
    tests = tracker.futures["f1"].tests
    assert tests is not None and tests.final
    assert tests.failures == [Failure.from_dict(FAILURE)]


def test_the_plain_log_names_a_new_failure_with_the_counts() -> None:
    out = io.StringIO()
    log = PlainLog(out)
    for event in suite(2.0):
        log(event)
    progress = [line for line in out.getvalue().splitlines() if "tests:" in line]
    assert progress == ["   0.60  f1 tests: 1 failed, 5 passed (6/40), running · FAILED "
                        "tests/test_a.py::test_x (tests/test_a.py:12): AssertionError: assert 1 == 2"]


def test_the_repl_shows_the_counts_in_its_toolbar_and_futures_table() -> None:
    f = Future(id="f1", tool="run_tests", args={}, deps=[], effects=Effects.snapshot_reader(),
               turn=1, call_id="c1", created_s=0.0, seq=1, state=FutureState.RUNNING, started_s=1.0)
    assert repl_format.tests_note(f) == ""
    f.partial = Outcomes("pytest", passed=12, failed=1)
    assert repl_format.tests_note(f) == " (12 passed, 1 failed, running)"
    rows = repl_format.futures_table([f], now=4.0)
    assert rows[1] == "  f1  run_tests  running (12 passed, 1 failed, running)  3.0 s  -      "


def test_the_html_report_gives_a_test_run_its_counts_and_first_failure() -> None:
    tracker = RunTracker.from_events(suite(2.0))
    assert "exit 1, 1 failed, 38 passed, 1 skipped" in futures_html(tracker)
    tip = future_tip(tracker.futures["f1"], 2.0).splitlines()
    assert tip[2:4] == ["tests: 1 failed, 38 passed, 1 skipped",
                        "FAILED tests/test_a.py::test_x (tests/test_a.py:12)"]
