"""The host's end of the runner protocol (see ``runner.py``) over a container's attach stream.

docker-py gives the attach stream as a blocking socket, so one thread per channel reads
it and hands events to the event loop, and one thread writes requests; the event loop
itself never waits on the socket.
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

from .base import OutputCallback, SandboxDied, SandboxError, cap_output

_STDOUT, _STDERR = 1, 2
_LOST = "the connection to the container was lost"


class OutputBuffer:
    """A command's output: streamed to a callback, kept up to a bound."""

    def __init__(self, limit: int, on_output: OutputCallback | None) -> None:
        self._limit = limit
        self._on_output = on_output
        self._chunks: list[str] = []
        self._size = 0

    def feed(self, text: str) -> None:
        if self._size < self._limit * 2:  # keep a bounded amount, cut at the end
            self._chunks.append(text)
            self._size += len(text)
        if self._on_output is not None:
            self._on_output(text)

    def text(self) -> tuple[str, bool]:
        """The output capped to the limit, and whether anything was cut."""
        output, truncated = cap_output("".join(self._chunks), self._limit)
        return output, truncated or self._size >= self._limit * 2


class Command:
    """One command running in the container."""

    def __init__(self, channel: Channel, command_id: int, output: OutputBuffer) -> None:
        self.id = command_id
        self.output = output
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
        elif kind == "exit":
            self._exit.set_result(int(event.get("code", -1)))
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
        request = {"op": "exec", "id": command.id, "argv": list(argv), "cwd": cwd, "env": dict(env)}
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
        self._mark_lost("the sandbox was closed")

    def _read_loop(self) -> None:
        from docker.utils.socket import frames_iter

        pending = b""
        try:
            for stream, data in frames_iter(self._sock, tty=False):
                if stream == _STDERR:
                    self._stderr = (self._stderr + data)[-4000:]
                    continue
                pending += data
                if b"\n" in data:
                    *lines, pending = pending.split(b"\n")
                    self._post(self._dispatch, [_decode(line) for line in lines])
        except (OSError, ValueError):
            pass  # the socket was closed under the read
        finally:
            self._post(self._mark_lost, _LOST)

    def _post(self, fn: Callable[[Any], None], arg: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(fn, arg)

    def _dispatch(self, events: list[dict[str, Any] | None]) -> None:
        for event in events:
            if event is None:
                continue
            if event.get("ev") == "ready":
                if not self._ready.done():
                    self._ready.set_result(event)
                continue
            command = self._commands.get(int(event.get("id", 0)))
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
