"""Helpers of the end-to-end tests: a small buggy repository, scripts, the real CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

BUGGY = "def add(a, b):\n    return a - b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"

FIX_SCRIPT: dict[str, Any] = {
    "turns": [
        {"text": "Run the tests and read the code.",
         "tool_calls": [{"name": "run_tests", "args": {}},
                        {"name": "read_file", "args": {"path": "calc.py"}}]},
        {"tool_calls": [{"name": "edit_file",
                         "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}}]},
        {"tool_calls": [{"name": "run_tests", "args": {}}]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"text": "add() adds now."},
    ]
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_repo(tmp_path: Path) -> Path:
    root = tmp_path / "calc"
    root.mkdir()
    (root / "calc.py").write_text(BUGGY)
    (root / "test_calc.py").write_text(TESTS)
    (root / "pytest.ini").write_text("[pytest]\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


def write_script(tmp_path: Path, script: dict[str, Any], name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(script))
    return path


def solve_cmd(repo: Path, script: Path, out: Path, *extra: str, sandbox: str = "local") -> list[str]:
    return [sys.executable, "-m", "asyncfc_agent.cli", "solve", "Fix add()", "--repo", str(repo),
            "--model", f"scripted/{script}", "--sandbox", sandbox, "--plain",
            "--out", str(out), *extra]


def run_solve(
    repo: Path, script: Path, out: Path, home: Path, *extra: str, sandbox: str = "local"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(solve_cmd(repo, script, out, *extra, sandbox=sandbox), capture_output=True, text=True,
                          env=env, timeout=180)


def tree_state(repo: Path) -> tuple[str, str, str]:
    return git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), (repo / "calc.py").read_text()


def wait_for_event(proc: subprocess.Popen[str], trajectory: Path, kind: str, timeout_s: float = 90) -> None:
    """Poll a run's trajectory until an event of ``kind`` is in it; kill the run if never."""
    deadline = time.monotonic() + timeout_s
    while not (trajectory.exists() and f'"{kind}"' in trajectory.read_text()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            proc.communicate()
            raise AssertionError(f"no {kind} event in {trajectory} (exit {proc.returncode})")
        time.sleep(0.1)


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after a generous deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def until(condition: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    """``wait_until`` for a test on the event loop: the loop runs while it polls."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs; a zombie has ended (only its entry is left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def group_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[2])


def group_members(pgid: int) -> list[int]:
    """The living processes of process group ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # ended meanwhile
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return found


def _pids(pidfile: Path) -> list[int]:
    return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []


def read_pids(pidfile: Path, timeout_s: float = 60) -> list[int]:
    """The pids a command wrote to ``pidfile`` (whitespace-separated, in one write or a rename)."""
    wait_until(lambda: _pids(pidfile), f"{pidfile} to be written", timeout_s)
    return _pids(pidfile)


async def pids_written(pidfile: Path, timeout_s: float = 60) -> list[int]:
    """``read_pids`` for a test on the event loop."""
    await until(lambda: _pids(pidfile), f"{pidfile} to be written", timeout_s)
    return _pids(pidfile)


def session_containers(home: Path) -> list[str]:
    """Containers of sessions whose worktrees live under ``home`` (this test's own)."""
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", "label=asyncfc-agent.session",
         "--format", '{{.ID}} {{.Label "asyncfc-agent.workspace"}}'],
        capture_output=True, text=True, check=True,
    ).stdout
    return [line.split()[0] for line in out.splitlines()
            if len(line.split()) > 1 and line.split()[1].startswith(str(home))]
