"""The command runner inside a sandbox container: the container's main process.

``docker exec`` costs ~70 ms a command on a typical engine; this runner costs a fork. It
reads requests as JSON lines on stdin and writes events as JSON lines on stdout:

    -> {"op": "exec", "id": 1, "argv": [...], "cwd": "/workspace", "env": {...}, "limit": N}
    -> {"op": "kill", "id": 1, "grace": 0.5}
    <- {"ev": "ready", "pid": 7, "uid": 10001, "shell": "/bin/bash"}
    <- {"ev": "out", "id": 1, "data": "..."}
    <- {"ev": "cut", "id": 1, "bytes": 123456}
    <- {"ev": "exit", "id": 1, "code": 0, "oom": false}
    <- {"ev": "error", "id": 1, "msg": "..."}

The runner is the container's PID 1 and reaps orphans itself. Each command runs in a
session of its own, so ``kill`` reaches its whole process tree:
SIGTERM, then SIGKILL after ``grace`` seconds. End of stdin (the owner went away) kills
every command and ends the runner, and with it the container.

A command's output is forwarded up to ``limit`` bytes as it comes; after that only the
last ``limit`` bytes are kept, and sent at its exit after a ``cut`` event counting the
bytes dropped between. The pipe is drained all the while, so a command printing
gigabytes costs the host nothing and the runner stays responsive. ``oom`` says that the
container's memory limit killed something while the command ran (it then exits on
SIGKILL).

It runs on the image's python3 (3.7 or later), standard library only.
"""

from __future__ import annotations

import codecs
import collections
import ctypes
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

_out_lock = threading.Lock()
#: Bytes of output forwarded as it comes, and kept from the end, when a request names none.
DEFAULT_LIMIT = 1 << 20
_PR_SET_DUMPABLE = 4
#: Where the kernel counts the container's OOM kills (cgroup v2, then v1).
_OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def send(event: dict[str, Any]) -> None:
    data = (json.dumps(event) + "\n").encode()
    with _out_lock:
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]


class Job:
    def __init__(self, job_id: int, proc: subprocess.Popen[bytes], limit: int) -> None:
        self.id = job_id
        self.proc = proc
        self.limit = limit
        self.kill_at: float | None = None
        self.ooms = oom_kills()

    def pump(self) -> None:
        """Stream the command's output within the bound, then report its exit."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        head_left = self.limit
        tail: collections.deque[bytes] = collections.deque()
        tail_size = cut = 0
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            if head_left > 0:
                part, data = data[:head_left], data[head_left:]
                head_left -= len(part)
                text = decoder.decode(part, final=head_left == 0)
                if text:
                    send({"ev": "out", "id": self.id, "data": text})
            if data:
                tail.append(data)
                tail_size += len(data)
                while tail_size - len(tail[0]) >= self.limit:
                    cut += len(tail[0])
                    tail_size -= len(tail.popleft())
        text = decoder.decode(b"", final=True)
        if text:
            send({"ev": "out", "id": self.id, "data": text})
        kept = b"".join(tail)
        cut += max(0, len(kept) - self.limit)
        kept = kept[-self.limit :] if self.limit else b""
        if cut:
            send({"ev": "cut", "id": self.id, "bytes": cut})
        if kept:
            send({"ev": "out", "id": self.id, "data": kept.decode("utf-8", errors="replace")})
        self.proc.stdout.close()
        code = self.proc.wait()
        oom = code == -signal.SIGKILL and oom_kills() > self.ooms
        send({"ev": "exit", "id": self.id, "code": code, "oom": oom})
        JOBS.pop(self.id, None)

    def signal(self, sig: int) -> bool:
        """Signal the command's process group; False once nothing of it is left."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def kill_tree(self) -> None:
        # forks racing the first SIGKILL land in the same group; a few rounds get them
        for _ in range(50):
            if not self.signal(signal.SIGKILL):
                return
            time.sleep(0.01)


JOBS: dict[int, Job] = {}
_spawning = False  # a command is being started: its pid is not in JOBS yet
_reap_due = False  # SIGCHLD came meanwhile


def oom_kills() -> int:
    """Processes the container's memory limit has killed so far (0 where unknown)."""
    for path in _OOM_COUNTERS:
        try:
            with open(path) as counters:
                for line in counters:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return 0


def _command_first_for_oom(pid: int) -> None:
    # the memory limit's killer takes a command before the runner; set from here, not in a
    # preexec_fn, which would cost every command a full fork (~10 ms)
    try:
        with open(f"/proc/{pid}/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass


def undumpable() -> None:
    """Keep commands of the same uid from ptracing the runner or opening its fds."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def start(request: dict[str, Any]) -> None:
    # SIGCHLD's handler runs on this thread: it waits until the command is in JOBS
    global _spawning
    _spawning = True
    try:
        spawn(request)
    finally:
        _spawning = False
        if _reap_due:
            reap_orphans()


def spawn(request: dict[str, Any]) -> None:
    job_id = int(request["id"])
    env = dict(os.environ)
    env.update(request.get("env") or {})
    try:
        proc = subprocess.Popen(
            request["argv"],
            cwd=request.get("cwd") or None,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:
        send({"ev": "error", "id": job_id, "msg": str(exc)})
        return
    _command_first_for_oom(proc.pid)
    job = Job(job_id, proc, max(0, int(request.get("limit", DEFAULT_LIMIT))))
    JOBS[job_id] = job
    try:
        threading.Thread(target=job.pump, daemon=True).start()
    except RuntimeError as exc:  # no thread left under the pids limit
        job.kill_tree()
        proc.wait()
        JOBS.pop(job_id, None)
        send({"ev": "error", "id": job_id, "msg": f"cannot start a reader: {exc}"})


def kill(request: dict[str, Any]) -> None:
    job = JOBS.get(int(request["id"]))
    if job is None:
        return
    grace = float(request.get("grace", 0.5))
    if grace <= 0 or not job.signal(signal.SIGTERM):
        job.kill_tree()
    elif job.kill_at is None:
        job.kill_at = time.monotonic() + grace


def escalate() -> float | None:
    """SIGKILL the commands whose grace has run out; seconds until the next one is due."""
    now = time.monotonic()
    due: list[float] = []
    for job in list(JOBS.values()):
        if job.kill_at is None:
            continue
        if job.kill_at <= now:
            job.kill_at = None
            job.kill_tree()
        else:
            due.append(job.kill_at - now)
    return min(due) if due else None


def handle(line: bytes) -> None:
    request = json.loads(line)
    op = request.get("op")
    if op == "exec":
        start(request)
    elif op == "kill":
        kill(request)


def reap_orphans(*_: object) -> None:
    """Wait for exited processes that are not our commands (orphans left to PID 1)."""
    global _reap_due
    if _spawning:  # it may be the new command, not known yet: after the spawn
        _reap_due = True
        return
    _reap_due = False
    ours = {job.proc.pid for job in list(JOBS.values())}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in ours:
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[:2] == ["Z", str(me)]:
            try:
                os.waitpid(int(entry), os.WNOHANG)
            except ChildProcessError:
                pass


def main() -> None:
    if os.getpid() == 1:
        # the container's init: no process holds the attach stream but this undumpable
        # one, no signal from a command can end it, and it reaps what commands orphan
        signal.signal(signal.SIGCHLD, reap_orphans)
        # the kernel hands PID 1 only the signals it handles, and Python handles SIGINT
        # (KeyboardInterrupt): a command's ``kill -INT 1`` would end the container. A
        # handler, not SIG_IGN, so that commands still start with the default.
        signal.signal(signal.SIGINT, lambda *_: None)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    undumpable()
    shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
    send({"ev": "ready", "pid": os.getpid(), "uid": os.getuid(), "shell": shell})
    buffer = b""
    try:
        while True:
            readable, _, _ = select.select([0], [], [], escalate())
            if not readable:
                continue
            data = os.read(0, 65536)
            if not data:
                break
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    handle(line)
    finally:
        for job in list(JOBS.values()):
            job.kill_tree()


if __name__ == "__main__":
    main()
