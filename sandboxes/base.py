"""The sandbox protocol: where commands of the agent's tools run.

A sandbox holds one workspace (a directory of the host, the agent's worktree) and runs
commands against it or against a snapshot of it. Implementations: ``local`` (host
subprocesses, no isolation) and ``docker`` (one container per task).

All methods are coroutines; an implementation whose client blocks (docker-py) runs it off
the event loop. Cancelling ``exec`` kills the whole process tree of the command before the
``CancelledError`` propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

OutputCallback = Callable[[str], None]

#: Output kept by ``exec`` at most, per command; the rest is dropped from the middle.
DEFAULT_OUTPUT_LIMIT = 200_000


class SandboxError(Exception):
    """The sandbox cannot do what was asked (engine unreachable, image missing, ...)."""


class SandboxDied(SandboxError):
    """The sandbox stopped under a running command (container killed, OOM, ...)."""


class SandboxLimit(SandboxError):
    """A command was stopped for going past a limit of the sandbox (memory, disk)."""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int | None  # None when the command did not finish (timed out)
    output: str  # stdout and stderr interleaved, capped (see ``truncated``)
    duration_s: float
    timed_out: bool = False
    truncated: bool = False


@dataclass
class Snapshot:
    """A frozen copy of the workspace, for whole-workspace readers (tests, builds)."""

    path: str  # the copy's path as commands in the sandbox see it
    host_path: Path | None  # the copy's path on the host, when it has one
    revision: int  # the workspace revision it was taken at
    meta: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Sandbox(Protocol):
    """Runs commands against one workspace. Use as an async context manager."""

    #: Short name of the implementation ("local", "docker").
    kind: str
    #: The workspace on the host (file tools read and write it directly).
    host_workspace: Path
    #: The workspace as commands in the sandbox see it.
    workdir: str
    #: uid and gid that files written from the host must be given so that commands in
    #: the sandbox can change them; None leaves ownership alone.
    file_owner: tuple[int, int] | None

    async def start(self) -> None:
        """Make the sandbox ready (start the container, ...). Idempotent."""

    async def exec(
        self,
        command: str | Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
        on_output: OutputCallback | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> ExecResult:
        """Run ``command`` (a shell string, or argv) and wait for it.

        ``cwd`` is a path inside the sandbox (default: ``workdir``). Output is streamed
        to ``on_output`` as it arrives. On timeout the process tree is killed and the
        result has ``timed_out`` set and the partial output.
        """

    async def snapshot(self, revision: int) -> Snapshot:
        """Copy the workspace as it is now; cheap (reflink or hardlink tree) where possible."""

    async def remove_snapshot(self, snapshot: Snapshot) -> None:
        """Delete a snapshot. Never raises for one already gone."""

    async def close(self) -> None:
        """Kill what still runs and release everything. Idempotent, safe after errors."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def cap_output(text: str, limit: int) -> tuple[str, bool]:
    """Keep the head and the tail of ``text`` within ``limit`` characters."""
    if len(text) <= limit:
        return text, False
    head = limit * 2 // 5
    tail = limit - head
    return text[:head] + cut_note(len(text) - head - tail) + text[-tail:], True


def cut_note(count: int) -> str:
    """What stands where ``count`` characters of output were left out."""
    return f"\n[... {count} characters cut ...]\n"
