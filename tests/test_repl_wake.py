"""Wake-ups in a real terminal: the REPL under tmux, the scripted model through litellm,
the local sandbox. Futures end when the test opens a gate file (or after a short sleep),
and every check waits for a line on the screen or an event in the trajectory."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from terminal import Terminal, call, leave, script, start_repl

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

#: Seconds in which a wrong wake-up would show (the settle pause before one is 0.3 s).
NEGATIVE_S = 2.0


def gated(gate: Path, code: int = 0) -> str:
    return f"while [ ! -e {gate} ]; do sleep 0.05; done; echo gate-open; exit {code}"


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "wake.toml"
    path.write_text(text)
    return str(path)


def events(home: Path) -> list[dict[str, Any]]:
    (run,) = (home / "runs").iterdir()
    path = run / "trajectory.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def first(found: list[dict[str, Any]], kind: str, **match: Any) -> int:
    """The index of the first event of ``kind`` whose fields include ``match``."""
    return next(i for i, e in enumerate(found)
                if e["kind"] == kind and all(e.get(k) == v for k, v in match.items()))


def test_the_model_reacts_when_its_future_resolves_while_nobody_types(
    term: Terminal, repo: Path, home: Path, tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    turns: list[dict[str, Any]] = [
        {"text": "Starting the tests.", "tool_calls": [call("run", command=gated(gate), readonly=True)]},
        {"text": "They run; I will tell you when they end."},
        {"text": "Tests passed: all green."},
    ]
    start_repl(term, repo, home, "--model", f"scripted/{script(tmp_path, turns)}")
    term.type("run the tests")
    term.wait_for(r"-- turn 1 done · f1 still running")
    term.wait_for(r"the model waits for f1 run \d+s · wakes on its result")  # the toolbar
    gate.touch()  # the run ends; nothing is typed
    screen = term.wait_for("Tests passed: all green.", timeout_s=60)
    notice = screen.index("f1 resolved exit 0")
    assert "· the model wakes to it" in screen[notice:].splitlines()[0]
    assert notice < screen.index("Tests passed: all green.")
    term.wait_for(r"-- wake-up after turn 1 done")

    found = events(home)
    resolved, wake = first(found, "future_resolved", future="f1"), first(found, "wake_up")
    request = first(found, "request_sent", turn=found[wake]["turn"])
    done = first(found, "response_done", turn=found[wake]["turn"])
    assert resolved < wake < request < done
    assert found[wake]["futures"] == ["f1"] and found[wake]["reason"] == "resolved"
    assert first(found, "future_delivered", future="f1") < request
    print(f"wake-up {found[wake]['t'] - found[resolved]['t']:.3f} s after f1 resolved; "
          f"the reaction done {found[done]['t'] - found[resolved]['t']:.3f} s after it")
    leave(term)

    # the report marks the wake-up turn, in the terminal and on the HTML time line
    (run,) = (home / "runs").iterdir()
    page = tmp_path / "timeline.html"
    shown = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "report", str(run),
                            "--html", str(page)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "COLUMNS": "150"})
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"(?m)^turn 3 \(wake-up: f1\)\s", shown.stdout), shown.stdout
    html = page.read_text()
    assert re.search(r'data-turn="3"><rect class="request( critical)? wake"', html)
    assert len(re.findall(r'class="request[^"]* wake"', html)) == 1


def test_wake_failures_only_notes_a_pass_and_wakes_on_the_failure(
    term: Terminal, repo: Path, home: Path, tmp_path: Path,
) -> None:
    ok, bad = tmp_path / "ok", tmp_path / "bad"
    turns: list[dict[str, Any]] = [
        {"tool_calls": [call("run", command=gated(ok), readonly=True),
                        call("run", command=gated(bad, 1), readonly=True)]},
        {"text": "Both run."},
        {"text": "f2 failed: I will fix it."},
    ]
    start_repl(term, repo, home, "--model", f"scripted/{script(tmp_path, turns)}",
               "--config", config(tmp_path, 'wake = "failures"\n'))
    term.type("run both")
    term.wait_for(r"-- turn 1 done")  # idle from here on
    ok.touch()
    term.wait_for(r"f1 resolved exit 0 .* · passed: the model gets it with your next message")
    term.wait_for(r"the model waits for f2 run \d+s · wakes if it fails")
    time.sleep(NEGATIVE_S)
    assert not [e for e in events(home) if e["kind"] == "wake_up"]
    assert "I will fix it" not in term.screen()

    bad.touch()
    screen = term.wait_for("f2 failed: I will fix it.", timeout_s=60)
    assert screen.index("f2 resolved exit 1") < screen.index("f2 failed: I will fix it.")
    found = events(home)
    (wake,) = [e for e in found if e["kind"] == "wake_up"]
    assert wake["futures"] == ["f1", "f2"] and wake["reason"] == "failed"
    assert first(found, "future_resolved", future="f2") < found.index(wake)
    leave(term)


def test_typing_when_the_future_resolves_holds_the_wake_up_until_the_line_is_sent(
    term: Terminal, repo: Path, home: Path, tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    turns: list[dict[str, Any]] = [
        {"tool_calls": [call("run", command=gated(gate), readonly=True)]},
        {"text": "Running."},
        {"text": "Got your line and the result."},
    ]
    start_repl(term, repo, home, "--model", f"scripted/{script(tmp_path, turns)}")
    term.type("go")
    term.wait_for(r"-- turn 1 done")
    term.tmux("send-keys", "-t", "repl", "-l", "also check the docs")  # no Enter yet
    gate.touch()
    term.wait_for(r"f1 resolved exit 0 .* · the model gets it when you send or clear your line")
    term.wait_for(r"results arrived while you type: the model wakes when you send your line")
    time.sleep(NEGATIVE_S)
    assert not [e for e in events(home) if e["kind"] == "wake_up"]
    assert "Got your line" not in term.screen()

    term.keys("Enter")
    term.wait_for("Got your line and the result.", timeout_s=60)
    term.wait_for(r"-- turn 2 done")  # the answer is in the conversation (leaving earlier cancels it)
    found = events(home)
    assert not [e for e in found if e["kind"] == "wake_up"]  # the line took the results along
    request = first(found, "request_sent", turn=3)
    assert first(found, "future_resolved", future="f1") < request
    assert first(found, "future_delivered", future="f1") < request
    (run,) = (home / "runs").iterdir()
    leave(term)
    messages = json.loads((run / "messages.json").read_text())
    texts = [m.get("content") for m in messages]
    line = texts.index("also check the docs")
    assert "gate-open" in texts[line + 2] and texts[line + 3] == "Got your line and the result."


def test_the_loop_guard_stops_a_model_that_keeps_starting_runs(
    term: Terminal, repo: Path, home: Path, tmp_path: Path,
) -> None:
    # each run a different command: an identical read-only one would be answered from the memo
    turns: list[dict[str, Any]] = [
        step
        for i in range(4)
        for step in ({"tool_calls": [call("run", command=f"sleep 1 # run {i}", readonly=True)]},
                     {"text": "Started another run."})
    ]
    start_repl(term, repo, home, "--model", f"scripted/{script(tmp_path, turns)}",
               "--config", config(tmp_path, "[repl]\nmax_wakes = 2\n"))
    term.type("go")
    screen = term.wait_for(r"2 wake-ups in a row without a message from you: the model is not "
                           "woken again until you write", timeout_s=90)
    assert screen.count("-- wake-up after turn 1 done") == 2
    assert screen.count("Started another run.") == 3
    found = events(home)
    assert [e["streak"] for e in found if e["kind"] == "wake_up"] == [1, 2]
    assert not any(e["kind"] == "future_delivered" and e["future"] == "f3" for e in found)
    term.type("/wake")
    term.wait_for(r"wake: auto \(paused until you write")
    term.type("/cost")
    term.wait_for(r"6 model responses \(6 requests\).* · 2 wake-ups")  # counted with the rest
    leave(term)
