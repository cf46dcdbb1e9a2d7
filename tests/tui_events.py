"""Sample runs as real event objects with fixed times, for the view and report tests."""

from __future__ import annotations

from asyncfc_agent.agent import events as ev
from asyncfc_agent.agent.events import Event


def at(t: float, event: Event) -> Event:
    event.t = t
    return event


def resolved(t: float, fid: str, tool: str, status: str, duration: float, rev: int,
             exit_code: int | None = None, reason: str = "") -> Event:
    """A FutureResolved whose result text is shaped as the executor writes it."""
    body = reason or "output"
    result = f"[{fid} {tool}: {status}, {duration:.1f} s, ran on rev {rev}]\n{body}"
    return at(t, ev.FutureResolved(fid, tool, status, exit_code, duration, rev, result))


def every_state() -> list[Event]:
    """A run in which, at t = 6, each state a future can be in is on screen."""
    return [
        at(1.0, ev.RunStarted("r1", "Fix it", "async", "scripted//s/demo.yaml", "local", "/repo",
                              "/ws", "asyncfc/fix")),
        at(1.0, ev.Notice("warning", "the local sandbox does not isolate anything")),
        at(1.1, ev.RequestSent(1, 2)),
        at(1.5, ev.FirstToken(1)),
        at(1.6, ev.TextDelta(1, "Running the tests ")),
        at(1.7, ev.TextDelta(1, "and reading the parser.")),
        at(1.8, ev.FutureCreated("f1", "run_tests", {}, [], "snapshot", 1)),
        at(1.9, ev.FutureStarted("f1", 0, True)),
        at(1.9, ev.FutureCreated("f2", "read_file", {"path": "a.py"}, [], "r:a.py", 1)),
        at(1.95, ev.FutureStarted("f2", 0, False)),
        resolved(2.0, "f2", "read_file", "resolved", 0.05, 0),
        at(2.1, ev.ResponseDone(1, "Running the tests and reading the parser.", 2, 300, 40,
                                0.0012, 1.0, "tool_calls")),
        at(2.1, ev.FutureDelivered("f2", "inline", 1)),
        at(2.2, ev.HandleReturned("f1", 1)),
        at(2.2, ev.RequestSent(2, 5)),
        at(2.5, ev.FutureOutput("f1", "collected 12 items\n....F\n")),
        at(2.6, ev.FirstToken(2)),
        at(2.7, ev.TextDelta(2, "Fixing the empty case; meanwhile a few more calls.")),
        at(3.0, ev.FutureCreated("f3", "edit_file", {"path": "a.py", "old": "x", "new": "y"}, [],
                                 "w:a.py", 2)),
        at(3.0, ev.FutureStarted("f3", 0, False)),
        at(3.01, ev.WorkspaceEdited(1, ["a.py"], "f3")),
        resolved(3.02, "f3", "edit_file", "resolved", 0.02, 0),
        at(3.1, ev.FutureCreated("f4", "run", {"command": "sleep 100"}, [], "w:*", 2)),
        at(3.1, ev.FutureStarted("f4", 1, False)),
        at(3.2, ev.FutureCreated("f5", "run", {"command": "cat ${f1}"}, ["f1"], "w:*", 2)),
        at(3.3, ev.FutureCreated("f6", "grep", {}, [], "none", 2)),
        resolved(3.3, "f6", "grep", "failed", 0.0, 1,
                 reason="invalid arguments for grep: pattern: Field required"),
        at(3.4, ev.FutureCreated("f7", "build", {}, [], "snapshot", 2)),
        at(3.4, ev.FutureStarted("f7", 1, True)),
        resolved(4.0, "f4", "run", "cancelled", 0.9, 1, reason="cancelled by the model"),
        resolved(5.0, "f7", "build", "timed out", 1.6, 1, reason="timed out after 1 s"),
    ]


def finished_run() -> list[Event]:
    """A whole run with known numbers (seconds since the run started at t = 1).

    turn 1 [0, 2] dispatches f1 (a 5 s test suite, at 1) and f2 (0.1 s, at 1.5);
    turn 2 [2.1, 3] awaits f1; f1 ends at 6, is delivered; turn 3 [6, 7] answers.
    Model 3.9 s + tools 5.1 s - 7 s of agent time = 2 s saved; the critical path is
    turn 1 up to f1's dispatch (1 s), f1 (5 s), turn 3 (1 s).
    """
    return [
        at(1.0, ev.RunStarted("r2", "Fix it", "async", "scripted/demo.yaml", "local", "/repo",
                              "/ws", "asyncfc/fix")),
        at(1.0, ev.RequestSent(1, 2)),
        at(1.5, ev.FirstToken(1)),
        at(2.0, ev.FutureCreated("f1", "run_tests", {}, [], "snapshot", 1)),
        at(2.0, ev.FutureStarted("f1", 0, True)),
        at(2.5, ev.FutureCreated("f2", "grep", {"pattern": "def"}, [], "r:*", 1)),
        at(2.5, ev.FutureStarted("f2", 0, False)),
        resolved(2.6, "f2", "grep", "resolved", 0.1, 0),
        at(3.0, ev.ResponseDone(1, "Tests and grep.", 2, 100, 10, 0.001, 2.0, "tool_calls")),
        at(3.0, ev.FutureDelivered("f2", "inline", 1)),
        at(3.1, ev.HandleReturned("f1", 1)),
        at(3.1, ev.RequestSent(2, 5)),
        at(4.0, ev.ResponseDone(2, "Waiting.", 1, 120, 5, 0.001, 0.9, "tool_calls")),
        resolved(7.0, "f1", "run_tests", "resolved", 5.0, 0, exit_code=0),
        at(7.0, ev.FutureDelivered("f1", "await", 2)),
        at(7.0, ev.RequestSent(3, 7)),
        at(8.0, ev.ResponseDone(3, "Done.", 0, 200, 3, 0.001, 1.0, "stop")),
        at(8.1, ev.RunFinished("solved", "submitted", 8.1)),
    ]
