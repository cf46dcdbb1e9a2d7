"""The REPL in a real terminal: tmux on a private socket, a fixed size, keys sent with
``send-keys`` and the screen read with ``capture-pane``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from support import git

#: Seconds the REPL may take to come up (litellm's import is slow on a busy machine).
START_S = 120



def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


def pids(pattern: str) -> list[int]:
    proc = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(p) for p in proc.stdout.split()]


def gone(pid: int) -> bool:
    """The process has ended (a zombie has ended too: only its entry is left)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def poll(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Terminal:
    """One tmux server of its own with one window running a command."""

    def __init__(self, tmp_path: Path) -> None:
        self.socket = f"asyncfc-test-{uuid.uuid4().hex[:10]}"
        self.conf = tmp_path / f"{self.socket}.conf"
        self.conf.write_text("set -g remain-on-exit on\nset -g history-limit 10000\n")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", str(self.conf), *args],
                              check=True, capture_output=True, text=True).stdout

    def start(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        command = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *argv])
        self.tmux("new-session", "-d", "-s", "repl", "-x", "150", "-y", "50", "-c", str(cwd), command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-10000", "-t", "repl")

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "repl", "-l", text)
        self.tmux("send-keys", "-t", "repl", "Enter")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "repl", *keys)

    def wait_for(self, pattern: str, timeout_s: float = 30, count: int = 1) -> str:
        """The screen once ``pattern`` (a regex) shows on it ``count`` times."""
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.screen()
            if len(re.findall(pattern, screen)) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} did not show; the screen:\n{screen}")
            time.sleep(0.05)

    def exited(self) -> bool:
        return self.tmux("list-panes", "-t", "repl", "-F", "#{pane_dead}").strip() == "1"

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        # a killed server can leave its socket file behind
        folder = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (folder / self.socket).unlink(missing_ok=True)


def script(tmp_path: Path, turns: list[dict[str, Any]]) -> Path:
    path = tmp_path / f"script-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump({"profile": {"ttft_s": 0.05, "tokens_per_s": 400}, "turns": turns}))
    return path


def start_repl(term: Terminal, repo: Path, home: Path, *args: str) -> None:
    env = {"ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "XDG_CONFIG_HOME": str(home / "config")}
    term.start([sys.executable, "-m", "asyncfc_agent.cli", "repl", "--sandbox", "local", *args],
               env, repo)
    term.wait_for(r"Type a message, or /help", START_S)


def worktree_of(repo: Path, branch_prefix: str = "asyncfc/") -> tuple[Path, str]:
    """The agent's worktree and its branch, from the repository's list of worktrees."""
    found = git(repo, "worktree", "list", "--porcelain").split("\n\n")
    for entry in found:
        lines = dict(line.split(" ", 1) for line in entry.splitlines() if " " in line)
        if lines.get("branch", "").startswith(f"refs/heads/{branch_prefix}"):
            return Path(lines["worktree"]), lines["branch"].removeprefix("refs/heads/")
    raise AssertionError(f"no worktree of the agent: {found}")


def trajectory(home: Path) -> str:
    """The trajectory of the newest run (written as events happen)."""
    runs = sorted((home / "runs").iterdir())
    path = runs[-1] / "trajectory.jsonl"
    return path.read_text() if path.exists() else ""


def leave(term: Terminal, how: str = "/exit") -> str:
    if how.startswith("/"):
        term.type(how)
    else:
        term.keys(how)
    poll(term.exited, 60, "the REPL to exit")
    return term.screen()
