"""``asyncfc-agent repl`` in a real terminal: tmux on a private socket, a fixed size,
keys sent with ``send-keys`` and the screen read with ``capture-pane``; the scripted model
through litellm and the local sandbox."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from support import BUGGY, git
from terminal import (
    START_S,
    Terminal,
    call,
    gone,
    leave,
    pids,
    poll,
    script,
    start_repl,
    trajectory,
    worktree_of,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_the_prompt_stays_live_while_a_future_runs(term: Terminal, repo: Path, home: Path,
                                                   tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    turns: list[dict[str, Any]] = [
        {"text": "Starting the slow check.",
         # it outlives the test: still running at every check below proves it was not waited for
         "tool_calls": [call("run", command=f"sleep 600 && echo {marker}", readonly=True)]},
        {"text": "The check runs; ask me anything meanwhile."},
        {"text": "Four, while f1 runs."},
        {"tool_calls": [call("edit_file", path="calc.py", old="a - b", new="a + b")]},
        {"text": "Fixed add."},
        {"tool_calls": [call("write_file", path="notes.txt", content="scratch\n")]},
        {"text": "Wrote notes."},
    ]
    start_repl(term, repo, home, "--model", f"scripted/{script(tmp_path, turns)}")
    term.type("run the slow check")
    term.wait_for("The check runs; ask me anything meanwhile.")
    (runner,) = pids(marker)
    sleeper = [p for p in pids("sleep 600") if Path(f"/proc/{p}/stat").read_text().split()[3] == str(runner)]
    assert sleeper, "the command's sleep process was not found"

    term.type("/futures")
    term.wait_for(r"f1\s+run\s+running\s+\d+\.\d s")

    term.type("what is 2+2?")
    screen = term.wait_for("Four, while f1 runs.")
    assert "f1 resolved" not in screen
    assert pids(marker) == [runner]  # the future still runs

    term.type("fix add")
    term.wait_for(r"-- turn 3 done · checkpoint [0-9a-f]{7}")  # made after the answer shows
    term.type("/diff")
    term.wait_for(r"(?m)^\+    return a \+ b$")
    term.type("/output f1")
    term.wait_for(r"f1 run \(running\), output so far:")
    term.type("write some notes")
    term.wait_for(r"-- turn 4 done · checkpoint [0-9a-f]{7}")
    worktree, branch = worktree_of(repo)
    assert (worktree / "notes.txt").exists() and "a + b" in (worktree / "calc.py").read_text()
    subjects = git(worktree, "log", "--format=%s", "main..HEAD").splitlines()
    assert subjects == ["asyncfc-agent: turn 4: write some notes", "asyncfc-agent: turn 3: fix add"]

    term.type("/undo")
    term.wait_for(r"reverted turn 4: write some notes \(notes\.txt\)")
    assert not (worktree / "notes.txt").exists() and "a + b" in (worktree / "calc.py").read_text()
    assert git(worktree, "log", "--format=%s", "main..HEAD").splitlines() == subjects[1:]
    assert pids(marker) == [runner]

    screen = leave(term, "/exit")
    assert f"session ended: branch {branch}" in screen
    poll(lambda: not pids(marker) and all(gone(p) for p in [runner, *sleeper]), 60,
         "the future's processes to end")
    assert not worktree.exists()
    assert "a + b" in git(repo, "show", f"{branch}:calc.py")
    assert "notes.txt" not in git(repo, "ls-tree", "--name-only", branch)
    assert git(repo, "status", "--porcelain") == "" and (repo / "calc.py").read_text() == BUGGY
    (run_dir,) = (home / "runs").iterdir()
    events = [json.loads(line) for line in (run_dir / "trajectory.jsonl").read_text().splitlines()]
    assert events[-1]["kind"] == "run_finished"
    cancelled = [e for e in events if e["kind"] == "future_resolved" and e["future"] == "f1"]
    assert cancelled and cancelled[0]["status"] == "cancelled"


def test_ctrl_c_cancels_the_work_and_a_second_one_leaves(term: Terminal, repo: Path, home: Path,
                                                         tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    turns: list[dict[str, Any]] = [
        {"tool_calls": [call("run", command=f"sleep 600 && echo {marker}-1")]},
        {"text": "Started one."},
        {"tool_calls": [call("run", command=f"sleep 600 && echo {marker}-2", readonly=True)]},
        {"tool_calls": [call("await_futures", ids=["f2"])]},
        {"text": "Never said: the turn is cancelled before."},
    ]
    start_repl(term, repo, home, "--model", f"scripted/{script(tmp_path, turns)}")
    term.type("start one")
    term.wait_for("Started one.")
    assert pids(f"{marker}-1")
    term.keys("C-c")  # the turn is over; the future runs
    term.wait_for(r"f1 cancelled in [\d.]+ s .*: cancelled by the user")
    poll(lambda: not pids(f"{marker}-1"), 60, "f1's process to end")
    term.type("/futures")
    term.wait_for(r"f1\s+run\s+cancelled")

    term.type("start two and wait")
    poll(lambda: bool(pids(f"{marker}-2")), 30, "f2 to start")
    poll(lambda: "await_futures" in trajectory(home), 30, "the model's await_futures call")
    term.keys("C-c")  # mid-turn: the model awaits f2
    screen = term.wait_for(r"-- turn 2 cancelled")
    assert re.search(r"stopped the turn; cancelled f2", screen)
    term.wait_for(r"f2 cancelled in")
    assert "Never said" not in term.screen()
    poll(lambda: not pids(f"{marker}-2"), 60, "f2's process to end")

    term.type("/futures")
    term.wait_for(r"f2\s+run\s+cancelled")
    term.keys("C-c")  # nothing runs: the first Ctrl-C only says how to leave
    term.wait_for(r"nothing runs: Ctrl-C again or Ctrl-D to leave")
    assert not term.exited()
    screen = leave(term, "C-c")  # the second one in a row leaves
    assert "session ended" in screen and not list((home / "worktrees").iterdir())


def test_resume_restores_the_conversation_the_branch_and_the_history(
    term: Terminal, repo: Path, home: Path, tmp_path: Path,
) -> None:
    turns: list[dict[str, Any]] = [
        {"tool_calls": [call("edit_file", path="calc.py", old="a - b", new="a + b")]},
        {"text": "Fixed add."},
        {"text": "Continued after the resume."},
    ]
    start_repl(term, repo, home, "--model", f"scripted/{script(tmp_path, turns)}")
    term.tmux("send-keys", "-t", "repl", "-l", "fix add\\")  # a trailing backslash: one more line
    term.keys("Enter")
    term.tmux("send-keys", "-t", "repl", "-l", "please")
    term.keys("Escape", "Enter")  # Esc-Enter: one more line
    term.type("now")
    term.wait_for("Fixed add.")
    term.type("/save")
    term.wait_for(r"saved .*messages\.json")
    screen = leave(term, "C-d")
    branch = re.search(r"session ended: branch (\S+)", screen)
    assert branch is not None
    (first_run,) = (home / "runs").iterdir()
    messages = json.loads((first_run / "messages.json").read_text())
    assert {"role": "user", "content": "fix add\nplease\nnow"} in messages
    term.kill()

    again = Terminal(tmp_path)
    try:
        start_repl(again, repo, home, "--resume")
        screen = again.wait_for(r"resumed session")
        assert f"branch {branch.group(1)}" in screen and "you: fix add please now" in screen
        assert "agent: Fixed add." in screen
        worktree, on = worktree_of(repo)
        assert on == branch.group(1) and "a + b" in (worktree / "calc.py").read_text()
        again.keys("Up")
        again.wait_for(r"(?m)^> /save\s*$")  # the prompt history of this repository
        again.keys("C-u")
        again.type("anything else?")
        again.wait_for("Continued after the resume.")  # the script's next turn: the same talk
        again.type("/mode sync")
        again.type("/mode")
        again.wait_for(r"(?m)^mode: sync$")
        again.type("/cost")
        again.wait_for(r"tokens: \d+ prompt, \d+ completion · cost \$0\.0000 · 1 model response \(1 request\)")
        again.wait_for(r"context: [\d,]+ of 114,278 tokens in the last request · 0 compactions · "
                       r"prompt cache: 0 tokens read, 0 written")
        again.type("/help")
        again.wait_for(r"Esc-Enter \(or a line ending in \\\) starts a new line")
        leave(again, "/exit")
    finally:
        again.kill()
    assert len(list((home / "runs").iterdir())) == 2


def test_no_command_starts_the_repl_in_a_terminal_and_prints_help_elsewhere(
    term: Terminal, repo: Path, home: Path, tmp_path: Path,
) -> None:
    piped = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli"], capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert piped.returncode == 0 and "Usage:" in piped.stdout and "repl" in piped.stdout

    config = home / "config" / "asyncfc-agent" / "config.toml"
    config.parent.mkdir(parents=True)
    hello: list[dict[str, Any]] = [{"text": "Hello there."}]
    config.write_text(f'model = "scripted/{script(tmp_path, hello)}"\nsandbox = "local"\n')
    env = {"ASYNCFC_HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}
    term.start([sys.executable, "-m", "asyncfc_agent.cli"], env, repo)
    term.wait_for(r"Type a message, or /help", START_S)
    term.type("/nonsense")
    term.wait_for(r"unknown command /nonsense; the commands are: /futures, /await")
    term.type("hi")
    term.wait_for("Hello there.")
    leave(term, "/exit")


def test_not_a_terminal_is_refused(repo: Path, home: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "repl", "--repo", str(repo)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
                          env={**os.environ, "ASYNCFC_HOME": str(home)})
    assert proc.returncode == 2 and "needs a terminal" in proc.stderr


def session_containers(run_id: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=asyncfc-agent.session={run_id}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return out.split()


@pytest.mark.docker
def test_exit_leaves_no_container_behind(term: Terminal, repo: Path, home: Path, tmp_path: Path,
                                         docker_image: str) -> None:
    turns: list[dict[str, Any]] = [
        {"tool_calls": [call("run", command="sleep 600 && echo done", readonly=True)]},
        {"text": "It runs in the container."},
    ]
    env = {"ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    argv = [sys.executable, "-m", "asyncfc_agent.cli", "repl", "--sandbox", "docker",
            "--model", f"scripted/{script(tmp_path, turns)}"]
    term.start(argv, env, repo)
    term.wait_for(r"Type a message, or /help", START_S)
    (run_dir,) = (home / "runs").iterdir()
    term.type("run it")
    term.wait_for("It runs in the container.")
    term.type("/futures")
    term.wait_for(r"f1\s+run\s+running")
    assert session_containers(run_dir.name)  # the sandbox is up while the future runs
    screen = leave(term, "/exit")
    assert "session ended" in screen
    assert session_containers(run_dir.name) == []
    events = [json.loads(line) for line in (run_dir / "trajectory.jsonl").read_text().splitlines()]
    assert [e["status"] for e in events if e["kind"] == "future_resolved"] == ["cancelled"]
