"""What the REPL prints, without a terminal: tables, turn lines, the recap, streamed text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.agent.config import RunConfig
from asyncfc_agent.agent.events import TextDelta
from asyncfc_agent.agent.futures import Future, FutureState
from asyncfc_agent.agent.interactive import Interruption, TurnReport
from asyncfc_agent.cli import repl, repl_format
from asyncfc_agent.cli.notify import notification
from asyncfc_agent.tools.base import Effects


def future(fid: str, state: FutureState, started: float, ended: float | None, *,
           delivered: bool = False) -> Future:
    f = Future(id=fid, tool="run", args={"command": "pytest -x"}, deps=[], effects=Effects(),
               turn=1, call_id=f"c{fid}", created_s=0.0, seq=int(fid[1:]), state=state,
               started_s=started, ended_s=ended)
    f.delivered = delivered
    return f


def test_futures_table_aligns_state_time_and_whether_the_model_saw_it() -> None:
    rows = repl_format.futures_table([
        future("f1", FutureState.RESOLVED, 1.0, 3.5, delivered=True),
        future("f12", FutureState.RUNNING, 2.0, None),
    ], now=10.0)
    assert rows == [
        "  id   tool  state     time   model  call",
        '  f1   run   resolved  2.5 s  seen   command="pytest -x"',
        '  f12  run   running   8.0 s  -      command="pytest -x"',
    ]
    lost = repl_format.futures_table([], 0.0, [{"id": "f3", "tool": "run_tests", "state": "running"}])
    assert lost[1] == "  f3  run_tests  lost   -     -      (earlier process; was running)"


def test_turn_lines() -> None:
    assert repl_format.describe_turn(TurnReport(3, "submitted", "ok")) == "-- turn 3 done"
    done = TurnReport(2, "submitted", "ok", checkpoint="0123456789abcdef", running=["f4"])
    assert repl_format.describe_turn(done) == "-- turn 2 done · checkpoint 0123456 · f4 still running"
    woke = TurnReport(2, "submitted", "ok", woke=["f4"])
    assert repl_format.describe_turn(woke) == "-- wake-up after turn 2 done"
    assert repl_format.describe_turn(TurnReport(1, "cancelled")) == "-- turn 1 cancelled"
    assert repl_format.describe_turn(TurnReport(1, "max_turns", "reached the limit of 60 turns")) == (
        "-- turn 1 stopped: reached the limit of 60 turns")
    assert repl_format.describe_turn(TurnReport(1, "model_error", "m: boom")) == "-- turn 1 failed: m: boom"
    assert repl_format.describe_interruption(Interruption(True, ["f1", "f2"], 1)) == (
        "stopped the turn; cancelled f1, f2; dropped 1 queued message(s)")
    assert repl_format.describe_interruption(Interruption(False, [], 0)) == "nothing to stop"


def test_recap_keeps_the_last_exchanges_in_one_line_each() -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "sys"}]
    for i in range(4):
        messages += [
            {"role": "user", "content": f"question {i}\nin two lines"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "x"}]},
            {"role": "tool", "tool_call_id": "x", "content": "result"},
            {"role": "assistant", "content": f"answer {i}"},
        ]
    assert repl_format.recap(messages, exchanges=2) == [
        ("you", "question 2 in two lines"), ("agent", "answer 2"),
        ("you", "question 3 in two lines"), ("agent", "answer 3"),
    ]
    long = [{"role": "user", "content": "x" * 150}]
    assert repl_format.recap(long) == [("you", "x" * 97 + "...")]


def test_tail_and_diff_styles() -> None:
    assert repl_format.tail("a\nb\nc\n", 5) == "a\nb\nc"
    assert repl_format.tail("a\nb\nc", 2) == "(1 earlier lines not shown)\nb\nc"
    styles = [repl_format.diff_style(line) for line in ("+++ b/x", "+new", "-old", "@@ -1 +1 @@", " same")]
    assert styles == ["bold", "class:added", "class:removed", "class:hunk", ""]


@pytest.fixture
def printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[repl.Repl, list[str]]:
    monkeypatch.setenv("ASYNCFC_HOME", str(tmp_path / "home"))
    shown: list[str] = []
    ui = repl.Repl(tmp_path, RunConfig(), None)
    monkeypatch.setattr(ui.screen, "say", lambda text, style="": shown.append(text))
    return ui, shown


def test_streamed_text_is_printed_by_lines_and_long_lines_are_wrapped(
    printed: tuple[repl.Repl, list[str]],
) -> None:
    ui, shown = printed
    for chunk in ("Reading the ", "parser.\nThen the", " tests"):
        ui.screen.on_event(TextDelta(1, chunk))
    assert shown == ["Reading the parser."] and ui.screen.partial == "Then the tests"
    ui.screen.flush_text()
    ui.screen.stream("word " * 30)  # 150 characters on an 80-column screen
    assert shown[1] == "Then the tests"
    assert shown[2] == ("word " * 15).strip() and len(shown[2]) <= 78
    assert ui.screen.partial.startswith("word")


async def test_unknown_commands_list_the_right_ones(printed: tuple[repl.Repl, list[str]]) -> None:
    ui, shown = printed
    assert not await ui.handle("/frobnicate now")
    assert shown == ["unknown command /frobnicate; the commands are: /futures, /await, /cancel, "
                     "/output, /diff, /undo, /model, /mode, /wake, /cost, /mcp, /save, /help, /exit"]
    assert await ui.handle("/exit")
    assert not await ui.handle("   ")


async def test_a_command_that_cannot_be_done_says_why_and_the_session_goes_on(
    printed: tuple[repl.Repl, list[str]],
) -> None:
    ui, shown = printed
    assert not await ui.handle("/mode fast")
    assert not await ui.handle("/model scripted/nowhere.yaml")
    assert not await ui.handle("/output")
    assert not await ui.handle("/cancel")
    assert not await ui.handle("/wake sometimes")
    assert shown[0] == "unknown mode 'fast': async, parallel or sync"
    assert shown[1].startswith("script nowhere.yaml does not exist")
    assert shown[2:] == ["usage: /output ID (see /futures)", "usage: /cancel ID (see /futures)",
                         "unknown wake setting 'sometimes': auto, failures or off"]


def test_notifications_are_the_bell_unless_the_terminal_shows_desktop_ones() -> None:
    assert notification("off", "t", "b", {}) == ""
    assert notification("bell", "t", "b", {"TERM_PROGRAM": "iTerm.app"}) == "\a"
    assert notification("desktop", "t", "b", {"TERM": "xterm-256color"}) == "\a"
    assert notification("desktop", "t", "b", {"TERM_PROGRAM": "WezTerm"}) == "\x1b]9;t: b\a"
    assert notification("desktop", "t", "b", {"TERM": "foot"}) == "\x1b]777;notify;t;b\a"
    # inside tmux a sequence needs a passthrough the user may not have: the bell
    assert notification("desktop", "t", "b", {"TERM": "foot", "TMUX": "/tmp/x"}) == "\a"
    # what a future printed cannot end the sequence early or start another one
    hostile = notification("desktop", "f1;x", "out\x07\x1b]52;c;evil\x1b\\", {"TERM": "foot"})
    assert hostile.count("\x1b") == 1 and hostile.count("\a") == 1 and hostile.count(";") == 3
