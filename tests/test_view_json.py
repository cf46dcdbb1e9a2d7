"""Which view a run gets, and the ``--json`` event stream of a real demo run."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from typing import TextIO

import pytest
from asyncfc_agent.cli import view
from asyncfc_agent.cli.plain import PlainLog
from asyncfc_agent.cli.tui import LiveView

from .demo_run import DemoRun, demo_json_run


@contextlib.contextmanager
def terminal() -> Iterator[TextIO]:
    """A stream that is a terminal (the far end of a pseudo-terminal)."""
    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as stream:
            yield stream
    finally:
        os.close(leader)
        os.close(follower)


def test_a_terminal_gets_the_live_view_unless_plain_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    with terminal() as tty:
        monkeypatch.setattr("sys.stdout", tty)
        assert view.live_capable()
        subscribers, display = view.make_view(plain=False, json_events=False)
        assert isinstance(display, LiveView) and subscribers == [display]
        subscribers, _ = view.make_view(plain=True, json_events=False)
        assert [type(s) for s in subscribers] == [PlainLog]
        subscribers, _ = view.make_view(plain=False, json_events=True)
        assert subscribers == [view.json_log]
        monkeypatch.setenv("TERM", "dumb")
        assert not view.live_capable()


def test_a_pipe_gets_the_line_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    subscribers, display = view.make_view(plain=False, json_events=False)
    assert [type(s) for s in subscribers] == [PlainLog]
    assert isinstance(display, contextlib.nullcontext)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    run = demo_json_run(tmp_path_factory.getbasetemp())
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.slow
def test_json_puts_every_event_and_nothing_else_on_stdout(demo: DemoRun) -> None:
    lines = demo.stdout.splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert events == demo.events()  # the same stream as the trajectory, in order
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert {"request_sent", "text", "future_created", "future_output", "future_resolved",
            "future_delivered", "handle_returned", "workspace_edited"} <= set(kinds)
    assert all(isinstance(e["t"], float | int) for e in events)
    times = [e["t"] for e in events]
    assert times == sorted(times)


@pytest.mark.slow
def test_json_sends_the_summary_to_stderr(demo: DemoRun) -> None:
    assert "status:   solved (submitted)" in demo.stderr
    assert f"result:   {demo.out / 'result.json'}" in demo.stderr
