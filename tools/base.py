"""What every repository tool is: a schema, declared effects, and ``async run``.

A tool module defines a pydantic model for its arguments and a ``Tool`` subclass. The
executor reads ``effects(args)`` to order conflicting calls (per-path read/write locks)
and to decide which calls run on a snapshot of the workspace; ``run`` does the work,
running commands in the sandbox through ``ctx.exec``.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from ..sandboxes.base import DEFAULT_OUTPUT_LIMIT, ExecResult, Sandbox, Snapshot
from .errors import ToolError
from .workspace import Workspace

if TYPE_CHECKING:
    from .outcomes import Outcomes

__all__ = ["WHOLE", "Effects", "Tool", "ToolArgs", "ToolContext", "ToolError", "ToolResult",
           "ToolsConfig", "norm_path", "paths_overlap"]

#: The workspace root, as a path in an ``Effects`` set: the whole workspace.
WHOLE = ""


class ToolArgs(BaseModel):
    """Base of every tool's arguments: unknown keys are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


A = TypeVar("A", bound=ToolArgs)


def norm_path(path: str) -> str:
    """A workspace-relative path in one spelling: posix, no ``./``, ``""`` for the root."""
    if "\0" in path:
        raise ToolError(f"{path!r}: a path cannot contain a NUL byte")
    p = posixpath.normpath(path.replace("\\", "/").strip() or ".")
    if p.startswith("/"):
        raise ToolError(f"{path!r}: give a path relative to the repository root")
    if p == ".":
        return WHOLE
    if p == ".." or p.startswith("../"):
        raise ToolError(f"{path!r} is outside the repository")
    return p


def paths_overlap(a: str, b: str) -> bool:
    """Whether two workspace paths name the same file or one contains the other."""
    if WHOLE in (a, b) or a == b:
        return True
    return a.startswith(b + "/") or b.startswith(a + "/")


@dataclass(frozen=True)
class Effects:
    """What a call touches. Paths are workspace-relative; ``WHOLE`` is everything.

    ``snapshot`` marks a whole-workspace reader that runs on a snapshot taken at
    dispatch: it holds its read lock only until the snapshot is taken.
    """

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    snapshot: bool = False

    @classmethod
    def read(cls, *paths: str) -> Effects:
        return cls(reads=frozenset(norm_path(p) for p in paths))

    @classmethod
    def write(cls, *paths: str) -> Effects:
        return cls(writes=frozenset(norm_path(p) for p in paths))

    @classmethod
    def snapshot_reader(cls) -> Effects:
        return cls(reads=frozenset({WHOLE}), snapshot=True)

    @classmethod
    def whole_writer(cls) -> Effects:
        return cls(writes=frozenset({WHOLE}))

    def conflicts(self, other: Effects) -> bool:
        """Two calls conflict when one writes a path the other reads or writes."""
        for w in self.writes:
            if any(paths_overlap(w, p) for p in other.reads | other.writes):
                return True
        return any(paths_overlap(w, p) for w in other.writes for p in self.reads)

    def describe(self) -> str:
        if self.snapshot:
            return "snapshot"
        parts = [f"r:{p or '*'}" for p in sorted(self.reads)]
        parts += [f"w:{p or '*'}" for p in sorted(self.writes)]
        return " ".join(parts) or "none"


@dataclass
class ToolResult:
    output: str
    exit_code: int | None = None  # the command's exit status; None for file tools
    truncated: bool = False
    edited: list[str] = field(default_factory=list)  # workspace paths this call changed
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        # a timed-out command has no exit code, and did not succeed
        return self.exit_code in (None, 0) and not self.meta.get("timed_out")


@dataclass
class ToolsConfig:
    """Settings of the repository tools."""

    #: Command that runs the whole test suite; None detects it (pytest, npm, cargo, ...).
    test_command: str | None = None
    #: Command that builds the project; None detects it.
    build_command: str | None = None
    #: Characters of output a result carries at most; more is cut with a note.
    output_limit: int = 30_000
    #: Seconds a command may run when the call gives no timeout.
    command_timeout_s: float = 600.0


@dataclass
class ToolContext:
    """What a tool's ``run`` gets: the sandbox, the workspace, and where to stream output."""

    sandbox: Sandbox
    workspace: Workspace
    config: ToolsConfig
    future_id: str = ""
    snapshot: Snapshot | None = None
    emit: Callable[[str], None] = lambda _text: None
    #: Called with the outcomes of a test run so far, at each change (tools/outcomes).
    progress: Callable[[Outcomes], None] = lambda _outcomes: None
    #: Raise the commands' nice value by this much (a run nobody asked for yet).
    nice: int = 0

    @property
    def root(self) -> str:
        """The directory commands should run in: the snapshot's, else the workspace's."""
        return self.snapshot.path if self.snapshot is not None else self.sandbox.workdir

    async def exec(
        self,
        command: str,
        *,
        timeout_s: float | None = None,
        cwd: str | None = None,
        on_output: Callable[[str], None] | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> ExecResult:
        """Run a shell command at the workspace root (or ``cwd`` below it), streaming output
        (to ``emit``, or to ``on_output`` when given) up to ``output_limit`` characters.

        Paths of a snapshot in the output are shown as the workspace's, so the model
        sees one set of paths whichever copy a command ran on.
        """
        root = self.root
        rewrite = self.snapshot is not None and root != self.sandbox.workdir
        sink = on_output or self.emit

        def emit(text: str) -> None:
            sink(text.replace(root, self.sandbox.workdir) if rewrite else text)

        workdir = root if not cwd else posixpath.join(root, norm_path(cwd))
        if self.nice:
            # the shell lowers its own priority first: everything it starts inherits it
            command = f"renice -n {int(self.nice)} -p $$ >/dev/null 2>&1; {command}"
        result = await self.sandbox.exec(
            command,
            cwd=workdir,
            timeout_s=timeout_s if timeout_s is not None else self.config.command_timeout_s,
            on_output=emit,
            output_limit=max(self.config.output_limit, output_limit),
        )
        if rewrite:
            result = ExecResult(
                exit_code=result.exit_code,
                output=result.output.replace(root, self.sandbox.workdir),
                duration_s=result.duration_s,
                timed_out=result.timed_out,
                truncated=result.truncated,
            )
        return result


class Tool(ABC, Generic[A]):
    """A repository tool. Subclasses set the class attributes and implement two methods."""

    name: ClassVar[str]
    description: ClassVar[str]
    Args: type[A]
    #: Seconds a call may run unless its arguments say otherwise.
    default_timeout_s: ClassVar[float] = 120.0

    @abstractmethod
    def effects(self, args: A) -> Effects:
        """The paths this call reads and writes, known before it runs."""

    @abstractmethod
    async def run(self, ctx: ToolContext, args: A) -> ToolResult:
        """Do the work. Raise ``ToolError`` for a call that cannot be carried out."""

    def timeout_s(self, args: A) -> float:
        value = getattr(args, "timeout_s", None)
        return float(value) if value else self.default_timeout_s

    def parse(self, raw: dict[str, Any]) -> A:
        return self.Args.model_validate(raw)

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling schema of this tool."""
        params = self.Args.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": params},
        }
