"""A hostile repository against the file tools: symlinks to host files, a directory swapped
for a symlink to the host while the tools read and write in it, a FIFO, a 20 GB sparse
file, detection markers that are symlinks to host files.

Against the real Docker sandbox, each run must end cleanly with a clear error result for
each attack, no host secret in anything the run wrote, no host file written, and no
container or worktree left. Unit-level tests race a real directory against a swapper
process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.tools.workspace import Workspace, WorkspaceError
from support import git, make_repo, session_containers, solve_cmd, write_script

SECRET = f"HOSTSECRET-{uuid.uuid4().hex}"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A host directory outside every workspace, holding what an attack is after."""
    d = tmp_path / "host"
    d.mkdir()
    (d / "secret.txt").write_text(f"{SECRET}\n")
    (d / "secret_mod.py").write_text(f'def leaked_function(key="{SECRET}"):\n    pass\n')
    (d / "target.txt").write_text("ORIGINAL\n")
    (d / "package.json").write_text(json.dumps({"scripts": {"test": f"echo {SECRET}"}}))
    (d / "pyproject.toml").write_text(f"[tool.pytest.ini_options]\n# {SECRET}\n")
    return d


def host_state(host: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(host.iterdir())}


def solve(
    tmp_path: Path, turns: list[dict[str, Any]], *extra: str, swapper: bool = False
) -> tuple[subprocess.CompletedProcess[str], Path]:
    repo = make_repo(tmp_path)
    if swapper:
        (repo / ".swap.py").write_text(SWAPPER)
        git(repo, "add", ".swap.py")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "swapper")
    script = write_script(tmp_path, {"turns": turns})
    out = tmp_path / "out"
    env = {**os.environ, "ASYNCFC_HOME": str(tmp_path / "home"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run(solve_cmd(repo, script, out, *extra, sandbox="docker"), capture_output=True,
                          text=True, env=env, timeout=600)
    return proc, out


def results(out: Path) -> dict[str, dict[str, Any]]:
    events = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    assert events[-1]["kind"] == "run_finished"
    return {e["future"]: e for e in events if e["kind"] == "future_resolved"}


def assert_clean_end(proc: subprocess.CompletedProcess[str], out: Path, tmp_path: Path) -> None:
    """Ended as an unsolved run ends (no test passed), with no traceback, no secret in
    anything it wrote, and nothing left behind."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the host secret is in {path}"
    assert SECRET not in proc.stdout + proc.stderr
    assert session_containers(tmp_path / "home") == []
    worktrees = tmp_path / "home" / "worktrees"
    assert not worktrees.exists() or list(worktrees.iterdir()) == []
    assert git(tmp_path / "calc", "worktree", "list").count("\n") == 1


def calls(*pairs: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": name, "args": args} for name, args in pairs]


@pytest.mark.docker
@pytest.mark.slow
def test_symlinks_to_the_host_special_files_and_markers_are_refused(
    tmp_path: Path, docker_image: str, host: Path
) -> None:
    before = host_state(host)
    plant = " && ".join([
        f"ln -s {host}/secret.txt leak.txt",
        f"ln -s {host} leakdir",
        f"ln -s {host}/secret_mod.py leak.py",
        f"ln -s {host}/target.txt out.txt",
        "mkfifo pipe pipe.py",
        # ignored: what host git makes of a 20 GB file is not what this test is about
        "truncate -s 20000000000 sparse.bin && echo sparse.bin >> .gitignore",
        # detection would read these markers; without pytest.ini and tests nothing else says
        "rm pytest.ini test_calc.py",
        f"ln -s {host}/package.json package.json",
        f"ln -s {host}/pyproject.toml pyproject.toml",
    ])
    attacks: list[tuple[tuple[str, dict[str, Any]], str]] = [
        (("read_file", {"path": "leak.txt"}), "leak.txt is a symlink that leads outside the repository"),
        (("read_file", {"path": "leakdir/secret.txt"}), "leakdir is a symlink that leads outside"),
        (("edit_file", {"path": "leak.txt", "old": "HOST", "new": "x"}), "leak.txt is a symlink that leads outside"),
        (("write_file", {"path": "out.txt", "content": "pwned\n"}), "out.txt is a symlink that leads outside"),
        (("write_file", {"path": "leakdir/new.txt", "content": "pwned\n"}), "leakdir is a symlink that leads outside"),
        (("edit_file", {"path": "out.txt", "old": "ORIGINAL", "new": "pwned"}), "out.txt is a symlink that leads outside"),
        (("list_files", {"path": "leakdir"}), "leakdir is a symlink that leads outside"),
        (("outline", {"path": "leak.py"}), "leak.py is a symlink that leads outside"),
        (("find_symbol", {"name": "leaked_function", "path": "leakdir"}), "leakdir is a symlink that leads outside"),
        (("read_file", {"path": "pipe"}), "pipe is a named pipe (FIFO), not a regular file"),
        (("outline", {"path": "pipe.py"}), "pipe.py is a named pipe (FIFO), not a regular file"),
        (("write_file", {"path": "pipe", "content": "x"}), "cannot write pipe: pipe is a named pipe (FIFO)"),
        (("read_file", {"path": "sparse.bin"}), "sparse.bin is 20.0 GB (20,000,000,000 bytes): the file tools read files up to 16.0 MB"),
        (("edit_file", {"path": "sparse.bin", "old": "a", "new": "b"}), "sparse.bin is 20.0 GB"),
        (("run_tests", {}), "no test command found"),
    ]
    # answered, from what is inside only
    answered: list[tuple[str, dict[str, Any]]] = [
        ("list_files", {}), ("repo_map", {}), ("find_symbol", {"name": "leaked_function"})]
    turns: list[dict[str, Any]] = [
        {"tool_calls": calls(("run", {"command": plant}))},
        {"tool_calls": calls(*(call for call, _ in attacks), *answered)},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"text": "done"},
    ]
    # a 20 GB file is past the default sandbox.max_file_size, which would stop its writer
    config = tmp_path / "big-files.toml"
    config.write_text('[sandbox]\nmax_file_size = "25g"\n')
    proc, out = solve(tmp_path, turns, "--config", str(config))
    ends = results(out)
    assert ends["f1"]["status"] == "resolved" and ends["f1"]["exit_code"] == 0, ends["f1"]
    for i, ((tool, _), message) in enumerate(attacks, start=2):
        end = ends[f"f{i}"]
        assert end["status"] == "failed" and message in end["result"], (tool, end)
    listed, mapped, found = (ends[f"f{i}"] for i in range(len(attacks) + 2, len(attacks) + 5))
    assert listed["status"] == mapped["status"] == found["status"] == "resolved"
    assert {"leak.txt", "leakdir", "pipe", "sparse.bin"} <= set(listed["result"].splitlines())
    assert "leakdir/" not in listed["result"]  # listed by name, never entered
    assert "def add" in mapped["result"] and "leaked_function" not in mapped["result"]
    assert "no definition or reference of leaked_function" in found["result"]
    assert host_state(host) == before
    assert_clean_end(proc, out, tmp_path)


#: Run in a workspace: swaps the directory ``d`` with a symlink to the host directory, and
#: ``d/f.txt`` with a symlink to a host file, atomically (renameat2 RENAME_EXCHANGE, so
#: ``d`` always exists), holding each state a moment, until the file ``stop`` exists.
SWAPPER = """\
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)

def exchange(dir_fd, a, b):
    if libc.renameat2(dir_fd, a.encode(), dir_fd, b.encode(), 2) != 0:
        raise OSError(ctypes.get_errno(), a)

host = sys.argv[1]
os.mkdir("d")
with open("d/f.txt", "w") as f:
    f.write("inside\\n")
os.symlink(host, "d.link")
os.symlink(host + "/f.txt", "d/f.link")
here, inner = os.open(".", os.O_RDONLY), os.open("d", os.O_RDONLY)
open("started", "w").close()
swaps = 0
while not os.path.exists("stop"):
    exchange(here, "d", "d.link")
    time.sleep(0.0005)
    exchange(here, "d", "d.link")
    try:
        exchange(inner, "f.txt", "f.link")
        time.sleep(0.0005)
        exchange(inner, "f.txt", "f.link")
    except OSError:  # a write replaced f.txt meanwhile
        pass
    swaps += 1
with open("stopped", "w") as f:
    f.write(str(swaps))
"""


@pytest.mark.docker
@pytest.mark.slow
def test_a_directory_swapped_for_a_symlink_mid_call_never_leads_out(
    tmp_path: Path, docker_image: str, host: Path
) -> None:
    (host / "f.txt").write_text(f"{SECRET}\n")
    before = host_state(host)
    rounds = 40
    hammer: list[tuple[str, dict[str, Any]]] = []
    for i in range(rounds):
        hammer += [("read_file", {"path": "d/f.txt"}),
                   ("write_file", {"path": "d/f.txt", "content": f"write {i}\n"}),
                   ("edit_file", {"path": "d/f.txt", "old": f"write {i}", "new": f"edit {i}"}),
                   ("list_files", {"path": "d"})]
        if i % 4 == 0:  # a snapshot copied mid-swap, read in the sandbox
            hammer.append(("run", {"command": "cat d/f.txt d/f.link d.link/f.txt d.link/f.link; true",
                                   "readonly": True}))
    start = f"python3 .swap.py {host} >/dev/null 2>&1 & while [ ! -e started ]; do sleep 0.1; done"
    turns: list[dict[str, Any]] = [
        {"tool_calls": calls(("run", {"command": start}))},
        {"tool_calls": calls(*hammer)},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"tool_calls": calls(("run", {"command": "touch stop; while [ ! -e stopped ]; do sleep 0.1; done; cat stopped"}))},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"text": "done"},
    ]
    proc, out = solve(tmp_path, turns, swapper=True)
    ends = results(out)
    assert ends["f1"]["status"] == "resolved", ends["f1"]
    outcomes: dict[str, int] = {}
    allowed = ("leads outside the repository", "does not occur", "no such file")
    for i in range(2, 2 + len(hammer)):
        end = ends[f"f{i}"]
        reason = "ok" if end["status"] == "resolved" else next(
            (a for a in allowed if a in end["result"]), end["result"])
        assert end["status"] == "resolved" or reason in allowed, end
        assert SECRET not in end["result"]
        outcomes[reason] = outcomes.get(reason, 0) + 1
    stopped = ends[f"f{2 + len(hammer)}"]
    assert stopped["status"] == "resolved", stopped
    print(f"{len(hammer)} calls during {stopped['result'].strip()} swaps: {outcomes}")
    assert host_state(host) == before
    assert_clean_end(proc, out, tmp_path)


# --- the same race at unit level, against a real directory --------------------------------


@pytest.fixture
def swapping(tmp_path: Path, host: Path) -> Iterator[Path]:
    """A workspace whose ``d`` and ``d/f.txt`` another process keeps swapping."""
    (host / "f.txt").write_text(f"{SECRET}\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", SWAPPER, str(host)], cwd=ws)
    try:
        while not (ws / "started").exists():
            assert proc.poll() is None, "the swapper died"
        yield ws
    finally:
        (ws / "stop").touch()
        assert proc.wait(timeout=60) == 0
    assert int((ws / "stopped").read_text()) > 0


def test_reads_racing_a_swapper_never_see_the_host(swapping: Path) -> None:
    ws = Workspace(swapping)
    seen: dict[str, int] = {}
    # the real directory is sometimes named d.link: only what is in it may be listed
    host_only = {"secret.txt", "secret_mod.py", "target.txt", "package.json", "pyproject.toml"}
    for i in range(3000):
        if i % 100 == 0:
            assert not [p for p in ws.fingerprint() if p.rpartition("/")[2] in host_only]
        try:
            text = ws.read_text("d/f.txt")
        except WorkspaceError as e:
            text = str(e)
        assert SECRET not in text
        seen[text] = seen.get(text, 0) + 1
    assert set(seen) <= {"inside\n", "d is a symlink that leads outside the repository",
                         "d/f.txt is a symlink that leads outside the repository"}, seen
    print(seen)


def test_writes_racing_a_swapper_never_write_the_host(swapping: Path, host: Path) -> None:
    before = host_state(host)
    ws = Workspace(swapping)
    refused = 0
    for i in range(3000):
        try:
            ws.write_text(f"d/w{i % 7}.txt" if i % 2 else "d/f.txt", f"inside {i}\n")
        except WorkspaceError as e:
            assert "is a symlink that leads outside the repository" in str(e), e
            refused += 1
    assert host_state(host) == before
    print(f"{refused} of 3000 writes refused")


@pytest.mark.skipif(os.geteuid() != 0, reason="handing a tree over to another uid takes root")
def test_hand_over_never_chowns_through_a_symlink(tmp_path: Path, host: Path) -> None:
    from asyncfc_agent.sandboxes.docker_host import hand_over

    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "sub" / "mine.txt").write_text("x")
    os.symlink(host / "secret.txt", ws / "link")
    os.symlink(host, ws / "sub" / "dirlink")
    owner = (54321, 54321)
    hand_over(ws, owner)
    for path in (ws, ws / "sub", ws / "sub" / "mine.txt", ws / "link", ws / "sub" / "dirlink"):
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == owner, path
    for path in (host, *host.iterdir()):
        assert path.stat().st_uid == os.geteuid(), path


def test_code_navigation_runs_nothing_a_planted_git_config_names(tmp_path: Path, host: Path) -> None:
    from asyncfc_agent.codenav.files import source_files

    ws = tmp_path / "ws"
    ws.mkdir()
    git(ws, "init", "-q")
    (ws / "a.py").write_text("def f():\n    pass\n")
    git(ws, "add", "a.py")
    pwned = host / "pwned"
    git(ws, "config", "core.fsmonitor", f"touch {pwned}")
    git(ws, "config", "core.hooksPath", str(host))
    assert source_files(ws) == ["a.py"]
    assert not pwned.exists()


async def test_snapshots_racing_a_swapper_copy_nothing_from_the_host(swapping: Path) -> None:
    from asyncfc_agent.sandboxes.local import LocalSandbox

    copied: dict[str, int] = {}
    async with LocalSandbox(swapping) as box:
        for revision in range(100):
            snap = await box.snapshot(revision)
            assert snap.host_path is not None
            for path in sorted(snap.host_path.rglob("*")):
                kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
                if kind == "file":
                    assert SECRET.encode() not in path.read_bytes(), path
                rel = path.relative_to(snap.host_path).as_posix()
                copied[f"{rel} ({kind})"] = copied.get(f"{rel} ({kind})", 0) + 1
            await box.remove_snapshot(snap)
    print(copied)


def test_a_snapshot_folder_swapped_for_a_symlink_is_not_read(tmp_path: Path, host: Path) -> None:
    """The folder of a snapshot lies in one the sandbox can write (``/snapshots``)."""
    from asyncfc_agent.tools.detect import detect_tests

    snapshot = tmp_path / "snapshots" / "rev3"
    snapshot.mkdir(parents=True)
    (snapshot / "pytest.ini").write_text("[pytest]\n")
    assert detect_tests(snapshot) is not None
    os.rename(snapshot, tmp_path / "snapshots" / "moved")
    os.symlink(host, snapshot)
    (host / "Makefile").write_text("test:\n\techo host\n")
    assert detect_tests(snapshot) is None  # the host folder's Makefile is not read
