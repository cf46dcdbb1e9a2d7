"""The host's end of the runner protocol (see ``runner.py``) over a container's attach stream.

docker-py gives the attach stream as a blocking socket, so one thread per channel reads
it and hands events to the event loop, and one thread writes requests; the event loop
itself never waits on the socket.

What comes from the container is hostile data, whatever the runner means to send: a
line longer than any the runner writes is dropped unread, and the reader stops reading
while more than ``MAX_QUEUED`` bytes wait for the event loop, so memory stays bounded
however fast and however much the container writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .base import SandboxDied, SandboxError
from .output import OutputBuffer

_STDOUT, _STDERR = 1, 2
_LOST = "the connection to the container was lost"
#: Longest event line taken; the runner's are 64 KiB of output, escaped.
MAX_LINE = 4 << 20
#: Bytes read from the stream that may wait for the event loop at once.
MAX_QUEUED = 8 << 20


class Command:
    """One command running in the container."""

    def __init__(self, channel: Channel, command_id: int, output: OutputBuffer) -> None:
        self.id = command_id
        self.output = output
        #: The container's memory limit killed something while it ran (and it died of it).
        self.oom = False
        self._channel = channel
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def wait(self) -> int:
        """The exit status (negative: killed by that signal). Raises if the runner is lost."""
        return await asyncio.shield(self._exit)

    async def kill(self, *, grace_s: float = 0.5, wait_s: float = 5.0) -> None:
        """Stop the whole process tree and wait (bounded) until the runner says it ended."""
        if self._exit.done():
            return
        with contextlib.suppress(SandboxError):
            await self._channel.send({"op": "kill", "id": self.id, "grace": grace_s})
        with contextlib.suppress(SandboxError, TimeoutError):
            async with asyncio.timeout(grace_s + wait_s):
                await self.wait()

    def _event(self, event: dict[str, Any]) -> None:
        if self._exit.done():
            return
        kind = event.get("ev")
        if kind == "out":
            try:
                self.output.feed(str(event.get("data", "")))
            except Exception as exc:  # the caller's callback failed: the caller hears of it
                self._exit.set_exception(exc)
        elif kind == "cut":
            self.output.skip(_count(event.get("bytes")))
        elif kind == "exit":
            self.oom = event.get("oom") is True
            self._exit.set_result(_count(event.get("code", -1), low=-255))
        elif kind == "error":
            self._exit.set_exception(SandboxError(f"cannot run the command: {event.get('msg')}"))

    def _lost(self, reason: str) -> None:
        if not self._exit.done():
            self._exit.set_exception(SandboxDied(reason))
            self._exit.exception()  # a command nobody waits for must not warn


class Channel:
    """Requests to and events from one runner."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        self._commands: dict[int, Command] = {}
        self._ready: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-write")
        self._reader = threading.Thread(target=self._read_loop, name="sandbox-read", daemon=True)
        self._stderr = b""
        self._queued = 0  # bytes handed to the event loop, not dispatched yet
        self._room = threading.Condition()
        self.lost = False
        self._hung_up = False
        self.info: dict[str, Any] = {}

    async def open(self, timeout_s: float) -> dict[str, Any]:
        """Start reading and wait for the runner's hello (pid, uid, shell)."""
        self._reader.start()
        try:
            async with asyncio.timeout(timeout_s):
                self.info = await asyncio.shield(self._ready)
        except TimeoutError:
            raise SandboxError(f"the sandbox runner did not start within {timeout_s:g} s") from None
        return self.info

    @property
    def stderr_tail(self) -> str:
        """The last lines the runner wrote to stderr (a traceback, when it crashed)."""
        return self._stderr.decode(errors="replace").strip()

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        output: OutputBuffer,
    ) -> Command:
        if self.lost:
            raise SandboxDied(_LOST)
        command = Command(self, next(self._ids), output)
        self._commands[command.id] = command
        request = {
            "op": "exec", "id": command.id, "argv": list(argv), "cwd": cwd, "env": dict(env),
            "limit": output.stream_limit,
        }
        try:
            await self.send(request)
        except BaseException:
            self._commands.pop(command.id, None)
            raise
        return command

    async def send(self, request: dict[str, Any]) -> None:
        # ASCII only: the engine reads ctrl-p ctrl-q on stdin as "detach"
        data = (json.dumps(request, ensure_ascii=True) + "\n").encode()
        try:
            await self._loop.run_in_executor(self._writer, _send_all, self._sock, data)
        except OSError as exc:
            raise SandboxDied(f"{_LOST}: {exc}") from None

    def close(self) -> None:
        """Hang up; the runner sees its stdin end and kills what still runs. Idempotent."""
        if self._hung_up:
            return
        self._hung_up = True
        raw = _raw_socket(self._sock)  # closing a SocketIO drops its socket
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)
        for end in (self._sock, raw):
            with contextlib.suppress(OSError):
                end.close()
        self._writer.shutdown(wait=False)
        with self._room:
            self._room.notify_all()
        self._mark_lost("the sandbox was closed")

    def _read_loop(self) -> None:
        from docker.utils.socket import frames_iter

        pending = b""
        skipping = False  # inside a line too long to take
        try:
            for stream, data in frames_iter(self._sock, tty=False):
                if stream == _STDERR:
                    self._stderr = (self._stderr + data[-4000:])[-4000:]
                    continue
                if b"\n" not in data:
                    if not skipping:
                        pending += data
                        if len(pending) > MAX_LINE:
                            pending, skipping = b"", True
                    continue
                first, _, rest = data.partition(b"\n")
                lines = [] if skipping else [pending + first]
                skipping = False
                *more, pending = rest.split(b"\n")
                if len(pending) > MAX_LINE:
                    pending, skipping = b"", True
                lines += more
                size = sum(len(line) for line in lines)
                self._wait_for_room(size)
                if self._hung_up:
                    break
                self._post(self._dispatch, ([_decode(line) for line in lines if len(line) <= MAX_LINE], size))
        except (OSError, ValueError):
            pass  # the socket was closed under the read
        finally:
            self._post(self._mark_lost, _LOST)

    def _wait_for_room(self, size: int) -> None:
        """Block the reader (and so the container's writes) while the loop is behind."""
        with self._room:
            self._queued += size
            while self._queued > MAX_QUEUED and self._queued > size and not self._hung_up:
                self._room.wait(0.5)

    def _post(self, fn: Callable[[Any], None], arg: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(fn, arg)

    def _dispatch(self, batch: tuple[list[dict[str, Any] | None], int]) -> None:
        events, size = batch
        with self._room:
            self._queued -= size
            self._room.notify_all()
        for event in events:
            if event is None:
                continue
            if event.get("ev") == "ready":
                if not self._ready.done():
                    self._ready.set_result(event)
                continue
            command = self._commands.get(_count(event.get("id", 0)))
            if command is None:
                continue
            command._event(event)
            if event.get("ev") in ("exit", "error"):
                self._commands.pop(command.id, None)

    def _mark_lost(self, reason: str) -> None:
        if self.lost:
            return
        self.lost = True
        if not self._ready.done():
            self._ready.set_exception(SandboxDied(reason))
            self._ready.exception()
        for command in self._commands.values():
            command._lost(reason)
        self._commands.clear()


def _decode(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _count(value: Any, *, low: int = 0) -> int:
    """An integer field of an event; anything else (or out of range) reads as ``low``."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value < 1 << 62:
        return value
    return low


def _raw_socket(sock: Any) -> Any:
    # a unix-socket engine hands out a SocketIO wrapping the real socket
    return getattr(sock, "_sock", sock)


def _send_all(sock: Any, data: bytes) -> None:
    raw = _raw_socket(sock)
    if hasattr(raw, "sendall"):
        raw.sendall(data)
        return
    view = memoryview(data)
    while view:
        view = view[raw.send(view):]
