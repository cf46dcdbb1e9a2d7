"""The live view's frames, exactly: a fixed width, no colour, real events, an injected clock."""

from __future__ import annotations

import io
import re

from asyncfc_agent.agent import events as ev
from asyncfc_agent.agent.events import Event
from asyncfc_agent.agent.timeline import RunTracker
from asyncfc_agent.cli.frame import render
from asyncfc_agent.cli.run_summary import final_summary
from asyncfc_agent.cli.table import cut, futures_table, seconds
from asyncfc_agent.cli.tui import LiveView
from rich.console import Console, RenderableType

from .tui_events import at, every_state, finished_run, resolved

WIDTH = 100


def text_of(renderable: RenderableType, width: int = WIDTH) -> str:
    """What a colourless terminal shows, without the padding at the ends of lines."""
    console = Console(width=width, color_system=None, force_terminal=False, record=True,
                      file=io.StringIO())
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def frame(events: list[Event], now: float, height: int = 30) -> str:
    return text_of(render(RunTracker.from_events(events), now, width=WIDTH, height=height))


def rows(text: str, *ids: str) -> list[str]:
    return [line for line in text.splitlines() if line.split(" ", 1)[0] in ids]


PANEL_TOP = "╭─ turn 2 · streaming " + "─" * 77 + "╮"
PANEL_EMPTY = "│" + " " * 98 + "│"
PANEL_BOTTOM = "╰" + "─" * 98 + "╯"

EVERY_STATE_AT_6 = f"""\
run r1 · async mode · local sandbox · branch asyncfc/fix
{PANEL_TOP}
│ Fixing the empty case; meanwhile a few more calls.                                               │
{PANEL_EMPTY}
{PANEL_EMPTY}
{PANEL_EMPTY}
{PANEL_EMPTY}
{PANEL_EMPTY}
{PANEL_BOTTOM}
id   tool       args                 state        time  rev      model   output
f1   run_tests                       running     4.1 s  0 stale  handle  ....F
f2   read_file  path="a.py"          resolved    0.1 s  0 stale  seen
f3   edit_file  path="a.py", old="…  resolved    0.0 s  0        unseen
f4   run        command="sleep 100"  cancelled   0.9 s  1        unseen  cancelled by the model
f5   run        command="cat ${{f1}}"  waiting     2.8 s
f6   grep                            failed      0.0 s  1        unseen  invalid arguments for grep…
f7   build                           timed out   1.6 s  1        unseen  timed out after 1 s
warning: the local sandbox does not isolate anything
scripted/demo.yaml · turn 2 · 340 tokens · $0.0012 · wall 6.0 s · overlap saved 6.5 s"""


def test_every_state_of_a_future_at_one_instant() -> None:
    # f1 running with its last output line, a handle given, stale after f3's edit of a.py
    # (it read the whole tree); f2 read a.py on rev 0, so stale too, and seen; f3 resolved
    # but not yet delivered; f4 cancelled; f5 waits for f1; f6 failed; f7 timed out.
    # Saved: model 1.0 + 3.8 s, tools 4.1 + 0.05 + 0.02 + 0.9 + 1.6 s, minus 5 s since start.
    assert frame(every_state(), 6.0) == EVERY_STATE_AT_6


def test_running_and_waiting_times_count_up_finished_ones_stay() -> None:
    later = frame(every_state(), 7.5)
    assert rows(later, "f1", "f5", "f7") == [
        "f1   run_tests                       running     5.6 s  0 stale  handle  ....F",
        'f5   run        command="cat ${f1}"  waiting     4.3 s',
        "f7   build                           timed out   1.6 s  1        unseen  timed out after 1 s",
    ]
    assert later.splitlines()[-1] == (
        "scripted/demo.yaml · turn 2 · 340 tokens · $0.0012 · wall 7.5 s · overlap saved 8.0 s"
    )


def test_a_future_is_seen_once_delivered_and_resolved_shows_its_exit() -> None:
    events = [*every_state(), at(6.2, ev.FutureDelivered("f3", "delivery", 2)),
              at(6.5, ev.FutureOutput("f1", "12 passed, 1 failed\n")),
              resolved(6.6, "f1", "run_tests", "resolved", 4.7, 0, exit_code=1)]
    assert rows(frame(events, 9.0), "f1", "f3") == [
        "f1   run_tests                       resolved    4.7 s  0 stale  handle  exit 1 · 12 passed, 1 fail…",
        'f3   edit_file  path="a.py", old="…  resolved    0.0 s  0        seen',
    ]


def test_before_the_run_starts_and_while_waiting_for_the_first_token() -> None:
    assert frame([], 2.5, height=12) == "\n".join([
        "starting: preparing the work area, the sandbox and the model",
        "╭─ waiting for the first request " + "─" * 66 + "╮",
        "│ (no text yet)" + " " * 84 + "│",
        *[PANEL_EMPTY] * 5,
        PANEL_BOTTOM,
        "starting · turn 0 · 0 tokens · $0.0000 · wall 2.5 s · overlap saved 0.0 s",
    ])
    title = frame(every_state()[:3], 1.4).splitlines()[1]
    assert title == "╭─ turn 1 · waiting for the model 0.3 s " + "─" * 59 + "╮"


def test_a_short_terminal_keeps_the_futures_and_shortens_the_text() -> None:
    lines = frame(every_state(), 6.0, height=16).splitlines()
    assert len(lines) == 15  # one line to spare, so Live never scrolls
    assert lines[1:5] == [
        PANEL_TOP,
        "│ Fixing the empty case; meanwhile a few more calls.                                               │",
        PANEL_EMPTY,
        PANEL_BOTTOM,
    ]


def test_more_futures_than_rows_keeps_the_unfinished_and_the_latest() -> None:
    events = [at(0.0, ev.FutureCreated(f"f{i}", "grep", {"pattern": str(i)}, [], "r:*", 1))
              for i in range(1, 13)]
    events += [at(0.1, ev.FutureStarted(f"f{i}", 0, False)) for i in range(1, 13)]
    events += [resolved(0.2, f"f{i}", "grep", "resolved", 0.1, 0) for i in range(1, 12, 2)]
    spans = list(RunTracker.from_events(events).futures.values())
    assert text_of(futures_table(spans, 1.0, 8)) == """\
id   tool  args                     state        time  rev  model   output
f2   grep  pattern="2"              running     0.9 s  0
f4   grep  pattern="4"              running     0.9 s  0
f6   grep  pattern="6"              running     0.9 s  0
f8   grep  pattern="8"              running     0.9 s  0
f10  grep  pattern="10"             running     0.9 s  0
f11  grep  pattern="11"             resolved    0.1 s  0    unseen
f12  grep  pattern="12"             running     0.9 s  0
    ... and 5 earlier futures"""


def test_the_final_summary() -> None:
    result = {
        "status": "solved", "exit_reason": "submitted", "branch": "asyncfc/fix",
        "commit": "0123456789abcdef", "patch_bytes": 1234, "turns": 3, "wall_s": 8.4,
        "final_answer": "Fixed the empty case.", "patch_file": "/out/patch.diff",
        "out_dir": "/out",
    }
    assert text_of(final_summary(result, RunTracker.from_events(finished_run()))) == """\
solved (submitted) · branch asyncfc/fix at 0123456789ab · patch 1,234 bytes · 3 turns · wall 8.4 s
Fixed the empty case.
id   tool       args                   state        time  rev  model   output
f1   run_tests                         resolved    5.0 s  0    seen    exit 0
f2   grep       pattern="def"          resolved    0.1 s  0    seen
time: agent 7.0 s · model 3.9 s · tools 5.1 s · overlap saved 2.0 s
critical path: model 2.0 s + futures 5.0 s (turn 1 → f1 → turn 3)
patch:  /out/patch.diff
record: /out"""


def test_the_final_summary_without_a_trajectory_still_gives_the_outcome() -> None:
    result = {"status": "error", "exit_reason": "sandbox_error", "error": "no engine",
              "patch_bytes": 0, "turns": 0, "wall_s": 0.4}
    assert text_of(final_summary(result, None)) == (
        "error (sandbox_error) · patch 0 bytes · 0 turns · wall 0.4 s\nerror: no engine"
    )


def test_seconds_stay_narrow_past_a_minute() -> None:
    assert [seconds(s) for s in (0.04, 9.95, 59.9, 61.2, 3725.0)] == [
        "0.0 s", "9.9 s", "59.9 s", "1m01s", "62m05s",
    ]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_live_view_draws_on_the_run_clock_from_its_injected_clock() -> None:
    clock = FakeClock(100.0)
    console = Console(width=WIDTH, height=30, color_system=None, force_terminal=False,
                      file=io.StringIO())
    view = LiveView(console=console, clock=clock)
    clock.now = 101.5
    assert view.now() == 1.5  # before any event: the time since the view was made
    for event in every_state():
        clock.now = 100.0 + event.t  # events are stamped on the run's clock as they come
        view(event)
    clock.now = 106.0
    assert view.now() == 6.0
    assert text_of(view.frame()) == EVERY_STATE_AT_6


def test_the_live_view_leaves_the_terminal_clean() -> None:
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, height=30, force_terminal=True, color_system=None)
    view = LiveView(console=console, clock=FakeClock(0.0), refresh_per_second=20)
    with view:
        for event in every_state():
            view(event)
    written = out.getvalue()
    hidden, shown = written.rindex("\x1b[?25l"), written.rindex("\x1b[?25h")
    assert hidden < shown  # the cursor was hidden while drawing, and is shown again
    # after that only the frame's erasure: back to its first line, each line cleared
    erase = written[shown + len("\x1b[?25h"):]
    assert re.fullmatch(r"\r(\x1b\[1A\x1b\[2K)+", erase)


def test_escape_sequences_and_tabs_in_output_do_not_reach_the_terminal() -> None:
    # colours are dropped (a line of colour alone is blank), tabs are spaces in a column,
    # other controls show as what they are
    events = [
        at(0.0, ev.FutureCreated("f1", "run", {"command": "pytest"}, [], "w:*", 1)),
        at(0.1, ev.FutureStarted("f1", 0, False)),
        at(0.5, ev.FutureOutput("f1", "\x1b[32m5 passed\x1b[0m\tin 0.1s\x07\r\n\x1b[0m\n")),
    ]
    spans = list(RunTracker.from_events(events).futures.values())
    assert text_of(futures_table(spans, 1.0, 5)).splitlines()[1] == (
        'f1   run   command="pytest"         running     0.9 s  0            5 passed in 0.1s␇'
    )


def test_once_finished_the_clock_stops() -> None:
    last = frame(finished_run(), 30.0).splitlines()
    assert last[0] == "solved (submitted) · run r2 · async mode · local sandbox · branch asyncfc/fix"
    assert last[-1] == (
        "scripted/demo.yaml · turn 3 · 438 tokens · $0.0030 · wall 8.1 s · overlap saved 2.0 s"
    )


def test_the_footer_shows_context_use_and_compactions() -> None:
    events = [
        at(1.0, ev.RunStarted("r1", "Fix it", "async", "scripted//s/demo.yaml", "local", "/repo",
                              "/ws", "asyncfc/fix")),
        at(1.1, ev.RequestSent(1, 2, 1800, 3600)),
        at(1.5, ev.ResponseDone(1, "Reading.", 1, 300, 40, 0.0012, 0.4, "tool_calls")),
        at(1.6, ev.ContextCompacted(2, 5200, 2100, 3600, 3, 6, ["f1 (run_tests, running, 1 s)"])),
        at(1.6, ev.RequestSent(2, 5, 2150, 3600)),
    ]
    wide = text_of(render(RunTracker.from_events(events), 2.0, width=140, height=30), 140)
    assert wide.splitlines()[-1] == (
        "scripted/demo.yaml · turn 2 · 340 tokens · $0.0012 · wall 2.0 s · overlap saved 0.0 s · "
        "context 2.1k/3.6k, 1 compaction")


def test_a_cut_fills_exactly_its_width() -> None:
    assert cut("abc", 5) == "abc  " and cut("abcdef", 4) == "abcd"
    assert cut("日本語", 5) == "日本 "  # the third would straddle the edge
    assert cut("␛]52;c;eA==␇", 5) == "␛]52;"
