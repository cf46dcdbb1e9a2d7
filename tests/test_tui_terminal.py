"""The live view in a real terminal: ``asyncfc-agent demo`` inside tmux, read back with
``capture-pane`` while it runs and after it exits."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (Debian package: tmux)"),
]

PROMPT = "READY>"
RUNNING_F1 = re.compile(r"^f1\s+run_tests\s+running\s+(\d+\.\d) s\b")
RESOLVED_F1 = re.compile(r"^f1\s+run_tests\s+resolved\s+\d+\.\d s\b")
PANEL_LINE = re.compile(r"^│ (.*?)\s*│$")


@dataclass
class Pane:
    socket: str
    name: str = "demo"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True, timeout=10).stdout

    def screen(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", self.name).splitlines()

    def wait_for(self, test: Callable[[list[str]], bool], timeout: float,
                 seen: list[list[str]]) -> list[str]:
        """Captures the screen every 0.2 s (all kept in ``seen``) until ``test`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            seen.append(screen)
            if test(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError("timed out; the screen was:\n" + "\n".join(seen[-1] if seen else []))


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    pane = Pane(f"asyncfc-tui-test-{uuid.uuid4().hex[:8]}")
    env = {**os.environ, "ASYNCFC_HOME": str(tmp_path / "home"),
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("TMUX", None)
    shell = f"env PS1={shlex.quote(PROMPT + ' ')} bash --norc --noprofile"
    subprocess.run(
        ["tmux", "-L", pane.socket, "-f", "/dev/null", "new-session", "-d", "-s", pane.name,
         "-x", "110", "-y", "35", shell],
        check=True, env=env, timeout=10,
    )
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "-L", pane.socket, "kill-server"], capture_output=True, timeout=10)


def running_f1(screen: list[str]) -> float | None:
    for line in screen:
        if m := RUNNING_F1.match(line):
            return float(m.group(1))
    return None


def panel_text(screen: list[str]) -> str:
    return " ".join(m.group(1) for line in screen if (m := PANEL_LINE.match(line))).strip()


def test_demo_in_a_terminal_counts_up_resolves_and_leaves_it_clean(pane: Pane, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "asyncfc_agent.cli", "demo", "--sandbox", "local",
               "--out", str(tmp_path / "run")]
    pane.wait_for(lambda s: any(line.startswith(PROMPT) for line in s), 10, [])
    pane.tmux("send-keys", "-t", pane.name, f"{shlex.join(command)}; echo EXIT=$?", "Enter")
    seen: list[list[str]] = []

    # f1 (the whole test suite) runs while the model works: its seconds count up
    pane.wait_for(lambda s: running_f1(s) is not None, 120, seen)
    pane.wait_for(lambda s: any(RESOLVED_F1.match(line) for line in s), 120, seen)
    running = [(running_f1(s), panel_text(s)) for s in seen if running_f1(s) is not None]
    elapsed = [e for e, _ in running if e is not None]
    assert len(set(elapsed)) >= 2 and elapsed == sorted(elapsed), elapsed
    # and meanwhile the model's text streamed: the panel's text grew while f1 was running
    texts = [text for _, text in running if text != "(no text yet)"]
    assert any(b != a and b.startswith(a) for a, b in itertools.pairwise(texts)), running

    final = pane.wait_for(lambda s: any(line.startswith("EXIT=") for line in s), 120, seen)
    text = "\n".join(final)
    assert "EXIT=0" in text
    assert re.search(r"^solved \(submitted\) · branch asyncfc/", text, re.M)
    assert re.search(r"^f1\s+run_tests\s+resolved .* seen\s+exit 1", text, re.M)
    assert re.search(r"^f5\s+run_tests\s+target=.*resolved .* seen\s+exit 0", text, re.M)
    assert re.search(r"^time: agent .* overlap saved \d+\.\d s$", text, re.M)
    # the live frame is gone (no panel, no footer), the prompt is back, the cursor shows
    assert not re.search(r"╭─|╰─|tokens · \$", text), text
    assert [line for line in final if line.strip()][-1] == PROMPT
    assert pane.tmux("display-message", "-p", "-t", pane.name, "#{cursor_flag}").strip() == "1"


#: A view whose frame changes height at every redraw, redrawn 200 times a second, while
#: three threads print: to stdout, to stderr (as a library's warning would) and through
#: the view. Each ends its lines with its name and a number.
PRINTS_UNDER_A_LIVE_VIEW = """
import itertools, sys, threading
from rich.console import Console
from rich.text import Text
from asyncfc_agent.cli.live import SerialLive

redraws = itertools.count()

def frame():
    k = next(redraws)
    return Text("\\n".join(f"frame {k} line {i}" for i in range(1 + k % 6)))

with SerialLive(Console(), frame, refresh_per_second=200) as live:
    def to(stream, name):
        for i in range(150):
            print(f"{name} {i}", file=stream)
    threads = [threading.Thread(target=to, args=(sys.stderr, "err")),
               threading.Thread(target=lambda: [live.print(f"said {i}") for i in range(150)])]
    for t in threads:
        t.start()
    to(sys.stdout, "out")
    for t in threads:
        t.join()
print("DONE")
"""


def test_prints_from_other_threads_neither_erase_lines_nor_leave_frames(pane: Pane, tmp_path: Path) -> None:
    script = tmp_path / "prints.py"
    script.write_text(PRINTS_UNDER_A_LIVE_VIEW)
    pane.wait_for(lambda s: any(line.startswith(PROMPT) for line in s), 10, [])
    pane.tmux("send-keys", "-t", pane.name, f"clear; echo MARKER-BEFORE; {sys.executable} {script}", "Enter")
    pane.wait_for(lambda s: any(line.startswith(("DONE", "Traceback")) for line in s), 120, [])
    # the whole of it, scrolled-off lines too
    lines = pane.tmux("capture-pane", "-p", "-t", pane.name, "-S", "-").splitlines()
    assert "DONE" in lines and "MARKER-BEFORE" in lines, "\n".join(lines)
    for name in ("out", "err", "said"):
        numbers = [int(line.split()[1]) for line in lines if re.fullmatch(rf"{name} \d+", line)]
        assert sorted(numbers) == list(range(150)), (name, "\n".join(lines))  # none erased
    assert not [line for line in lines if line.startswith("frame ")], "\n".join(lines)  # none left
