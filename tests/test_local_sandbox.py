"""Process handling: the local sandbox's children waited for without a thread each, in
any event loop; bursts of snapshots; telling a live process from a dead one."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from asyncfc_agent.sandboxes.local import LocalSandbox

#: Run in a fresh interpreter, so that the process-wide child watcher starts as Python's.
CHILDREN = """
import asyncio, sys, threading
from pathlib import Path
from asyncfc_agent.sandboxes.local import LocalSandbox

async def burst(root):
    async with LocalSandbox(root) as box:
        codes = []
        async def one(i):
            codes.append((await box.exec(f"sleep 0.3; exit {i % 5}")).exit_code)
        tasks = [asyncio.create_task(one(i)) for i in range(20)]
        await asyncio.sleep(0.15)
        threads = threading.active_count()
        await asyncio.gather(*tasks)
        return sorted(codes), threads

root = Path(sys.argv[1])
print(asyncio.run(burst(root)))
print(asyncio.run(burst(root)))  # a second loop
out = []
t = threading.Thread(target=lambda: out.append(asyncio.run(burst(root))))
t.start(); t.join()
print(out[0])  # a loop in another thread
"""


def test_children_are_waited_for_in_every_loop_without_a_thread_each(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CHILDREN, str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    codes = sorted(i % 5 for i in range(20))
    main_loop, second_loop, thread_loop = (ast.literal_eval(line) for line in lines)
    assert main_loop[0] == second_loop[0] == thread_loop[0] == codes
    # 20 commands running: Python 3.11's default would hold a waiting thread for each
    assert main_loop[1] <= 2 and second_loop[1] <= 2
    assert thread_loop[1] <= 3  # the main thread, the loop's thread, perhaps one helper


async def test_a_burst_of_snapshots_gets_a_full_copy_each(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for i in range(30):
        (work / f"m{i}.py").write_text(f"X = {i}\n")
    async with LocalSandbox(work) as box:
        snaps = await asyncio.gather(*(box.snapshot(7) for _ in range(24)))
        assert len({s.host_path for s in snaps}) == 24
        for snap in snaps:
            assert snap.host_path is not None and snap.revision == 7
            assert sorted(p.name for p in snap.host_path.iterdir()) == sorted(
                p.name for p in work.iterdir())
            assert (snap.host_path / "m29.py").read_text() == "X = 29\n"
        await asyncio.gather(*(box.remove_snapshot(s) for s in snaps))
        assert not any(s.host_path.exists() for s in snaps if s.host_path)


def test_a_zombie_is_not_alive_and_a_reused_pid_is_not_the_same_process() -> None:
    from asyncfc_agent.sandboxes.containers import process_alive, process_start

    child = subprocess.Popen(["sleep", "30"])
    try:
        started = process_start(child.pid)
        assert started and process_alive(child.pid) and process_alive(child.pid, started)
        assert not process_alive(child.pid, str(int(started) + 1))  # another process's start
        child.kill()
        deadline = time.monotonic() + 5
        # killed and not waited for: a zombie, which signal 0 still reaches
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not process_alive(child.pid, started)
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid)


async def test_a_snapshot_leaves_git_out_and_is_removed(tmp_path: Path) -> None:
    work = tmp_path / "work"
    for rel, text in {"pkg/mod.py": "V = 1\n", ".env": "hidden\n", ".gitignore": "*.pyc\n",
                      ".git/HEAD": "ref: refs/heads/main\n", ".git/config": "[core]\n"}.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    async with LocalSandbox(work, snapshot_root=tmp_path / "snaps") as box:
        snap = await box.snapshot(1)
        assert snap.host_path is not None
        copied = sorted(str(p.relative_to(snap.host_path)) for p in snap.host_path.rglob("*"))
        assert copied == [".env", ".gitignore", "pkg", "pkg/mod.py"]  # all but .git
        (work / "pkg/mod.py").write_text("V = 2\n")
        assert (snap.host_path / "pkg/mod.py").read_text() == "V = 1\n"
        await box.remove_snapshot(snap)
        assert not snap.host_path.exists()
        kept = await box.snapshot(2)
    assert kept.host_path is not None and not kept.host_path.exists()  # closing removes the rest
