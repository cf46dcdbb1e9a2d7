"""One run of ``solve``: wire the parts, run the loop, and leave a complete record.

Whatever ends the run (an answer, a limit, an error, Ctrl-C), the agent's changes are
committed on its branch, the patch and ``result.json`` are written, the sandbox is closed
and the worktree removed. The user's tree is only written with ``apply``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..mcp_servers import McpServers
from ..sandboxes.base import Sandbox, SandboxError
from ..tools import load_tools
from ..tools.workspace import Workspace
from . import workarea
from .apply import apply_patch
from .config import RunConfig, executor_config
from .events import Event, EventBus, InstructionsLoaded, Notice, RunFinished, RunStarted
from .executor import Executor
from .instructions import ProjectInstructions, system_section
from .loop import Agent, Finished, LimitReached
from .model import ModelClient, ModelConfigError, ModelError
from .protocol import SYSTEM_PROMPT
from .record import future_record, summary, test_verdict, write_result
from .sandboxing import ensure_image, open_sandbox, reap_containers, remove_leftovers
from .trajectory import TrajectoryWriter

SandboxOpener = Callable[[str, Path, str, dict[str, Any], Path | None], Sandbox]


@dataclass
class RunOutcome:
    status: str  # solved, unsolved, error
    exit_reason: str
    out_dir: Path
    result: dict[str, Any] = field(default_factory=dict)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class Session:
    """The parts of one run; ``run`` drives them and returns the outcome."""

    def __init__(
        self,
        task: str,
        repo: Path,
        config: RunConfig,
        *,
        subscribers: list[Callable[[Event], None]] | None = None,
        opener: SandboxOpener = open_sandbox,
        run_id: str | None = None,
    ) -> None:
        self.task = task
        self.repo = repo
        self.config = config
        self.run_id = run_id or new_run_id()
        self.out_dir = config.out_dir or workarea.data_dir() / "runs" / self.run_id
        self.bus = EventBus()
        self._subscribers = subscribers or []
        self._opener = opener
        self.area: workarea.WorkArea | None = None
        self.sandbox: Sandbox | None = None
        self.executor: Executor | None = None
        self.agent: Agent | None = None
        self.mcp: McpServers | None = None
        self.first_future_id = 1  # a resumed session numbers its futures on
        self.model = ModelClient(config.model)
        self._started = time.monotonic()
        self._loop_started: float | None = None
        self._loop_ended: float | None = None
        self._stack = contextlib.AsyncExitStack()
        self._writer: TrajectoryWriter | None = None
        self._run_task: asyncio.Task[Any] | None = None
        self._wrapping_up = False

    async def run(self) -> RunOutcome:
        """The whole of ``solve``: open, work on the task until it ends, close."""
        status, reason, error = "error", "error", None
        self._run_task = asyncio.current_task()
        try:
            await self.open()
            status, reason = await self._solve()
        except ModelConfigError as exc:
            error, reason = str(exc), "model_config"
        except ModelError as exc:
            error, reason = str(exc), "model_error"
        except (SandboxError, workarea.WorkAreaError) as exc:
            error, reason = str(exc), "sandbox_error" if isinstance(exc, SandboxError) else "repository_error"
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            if not self._stopped_by_the_record(exc):
                error, reason = "interrupted by the user", "interrupted"
                raise
            error, reason = self._record_error(), "output_error"
        except Exception as exc:
            error, reason = f"{type(exc).__name__}: {exc}", "error"
            raise
        finally:
            outcome = await asyncio.shield(self.close(status, reason, error))
        return outcome

    async def open(self) -> None:
        """Prepare the work area, start the sandbox and the executor, make the agent."""
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._writer = TrajectoryWriter(self.out_dir / "trajectory.jsonl", on_error=self._record_failed)
        self.bus.subscribe(self._writer)
        for fn in self._subscribers:
            self.bus.subscribe(fn)
        await asyncio.to_thread(self._reap_worktrees)
        self.area = await asyncio.to_thread(self.prepare_area)
        self.sandbox = self._opener(cfg.sandbox.kind, self.area.path, self.run_id, cfg.sandbox.options,
                                    self.area.git.git_dir if self.area.is_git else None)
        if self.sandbox.kind == "docker":
            await self._prepare_docker()
        # the MCP servers start beside the sandbox; those that run in it, once it is up
        self.mcp = McpServers(cfg.mcp_servers, workdir=self.area.path, bus=self.bus)
        self._stack.push_async_callback(self.mcp.close)
        await asyncio.gather(self.sandbox.start(), self.model.warm_up(),
                             self.mcp.start(self.sandbox, phase="host"))
        await self.mcp.start(self.sandbox, phase="sandbox")
        # litellm leaves ~400k long-lived objects: keep the collector's full passes from
        # scanning them (they stalled the event loop for hundreds of milliseconds)
        gc.freeze()
        workspace = Workspace(self.area.path, file_owner=self.sandbox.file_owner,
                              mounted_at=self.sandbox.workdir, git_dir=self.area.git.git_dir)
        self.bus.publish(
            RunStarted(self.run_id, self.task, cfg.agent.mode.value, cfg.model.model,
                       self.sandbox.kind, str(self.area.source), str(self.area.path),
                       self.area.branch)
        )
        self.mcp.report()
        if self.sandbox.kind == "local":
            from ..sandboxes.local import WARNING

            self.bus.publish(Notice("warning", WARNING))
        self.executor = Executor(
            tools={**load_tools(), **self.mcp.tools()}, sandbox=self.sandbox, workspace=workspace, bus=self.bus,
            config=executor_config(cfg), tools_config=cfg.tools, sandbox_factory=self._fresh_sandbox,
            first_id=self.first_future_id,
        )
        await self._stack.enter_async_context(self.executor)
        self.agent = self._make_agent(workspace.root)

    def _make_agent(self, root: Path) -> Agent:
        """The agent, with the repository's root instructions (AGENTS.md) in its prompt."""
        assert self.executor is not None
        instructions = ProjectInstructions(root)
        prompt = SYSTEM_PROMPT
        if (doc := instructions.root_file()) is not None:
            prompt += system_section(doc)
            self.bus.publish(InstructionsLoaded(doc.path, len(doc.text), doc.truncated, doc.text, "system"))
        if self.mcp is not None:
            prompt += self.mcp.prompt_section()
        return Agent(model=self.model, executor=self.executor, bus=self.bus,
                     config=self.config.agent, system_prompt=prompt, instructions=instructions)

    def _record_failed(self, reason: str) -> None:
        """The trajectory cannot be written (a full disk): stop the work, keep what is done."""
        if self._run_task is not None and not self._wrapping_up:
            self._run_task.cancel()

    def _stopped_by_the_record(self, exc: BaseException) -> bool:
        """Whether this cancel is ``_record_failed``'s, and no interrupt came with it."""
        if not isinstance(exc, asyncio.CancelledError) or self._record_error() is None:
            return False
        return self._run_task is None or self._run_task.uncancel() == 0

    def _record_error(self) -> str | None:
        return self._writer.error if self._writer is not None else None

    def prepare_area(self) -> workarea.WorkArea:
        """A new worktree on a new branch (a resumed session attaches its kept branch)."""
        cfg = self.config
        return workarea.prepare(
            self.repo, run_id=self.run_id, slug=cfg.branch_slug or workarea.slugify(self.task),
            carry_changes=cfg.carry_changes, max_file_bytes=cfg.workarea.max_file_bytes,
        )

    def kept_worktrees(self) -> set[str]:
        """Work areas of dead runs that this session takes over instead of reaping."""
        return {self.run_id}

    def _reap_worktrees(self) -> None:
        from .owners import reap

        reaped = reap(keep=self.kept_worktrees())
        if reaped:
            self.bus.publish(Notice("info", f"removed {len(reaped)} worktree(s) of dead runs "
                                            "(their uncommitted work is committed on their branch)"))

    async def _prepare_docker(self) -> None:
        """Containers of dead sessions removed, and the default image there (built once)."""
        host = self.config.sandbox.options.get("docker_host")
        for line in await reap_containers(self.run_id, host):
            self.bus.publish(Notice("info", line))
        loop = asyncio.get_running_loop()
        assert self.sandbox is not None

        def notify(line: str) -> None:  # from the build's thread
            loop.call_soon_threadsafe(self.bus.publish, Notice("info", line))

        await ensure_image(self.sandbox, notify)

    async def _fresh_sandbox(self) -> Sandbox:
        assert self.area is not None
        cfg = self.config.sandbox
        box = self._opener(cfg.kind, self.area.path, self.run_id, cfg.options,
                           self.area.git.git_dir if self.area.is_git else None)
        await box.start()
        return box

    async def _solve(self) -> tuple[str, str]:
        assert self.agent is not None and self.executor is not None
        self._loop_started = time.monotonic()
        try:
            async with asyncio.timeout(self.config.timeout_s):  # the verification included
                reason = await self._work()
                if reason == "submitted" and self.config.verify:
                    await self.verify()
        except TimeoutError:
            self.bus.publish(Notice("warning", f"the run took longer than {self.config.timeout_s} s"))
            return "unsolved", "timeout"
        finally:
            self._loop_ended = time.monotonic()
        if reason != "submitted":
            return "unsolved", reason
        verdict = test_verdict(self.executor)
        solved = verdict["passed"] and verdict["on_final_revision"]
        return ("solved" if solved else "unsolved"), reason

    async def _work(self) -> str:
        """Run the agent on the task; the reason it finished."""
        assert self.agent is not None
        try:
            await self.agent.run(self.task)
        except LimitReached as exc:
            self.bus.publish(Notice("warning", f"limit reached: {exc}"))
            return exc.reason
        except Finished as exc:
            return exc.reason
        raise AssertionError("the agent loop ended without a reason")  # pragma: no cover

    async def verify(self) -> None:
        """Run the tests on the final revision unless the latest run already did."""
        assert self.executor is not None
        ex = self.executor
        pending = [f for f in ex.futures.values() if f.tool == "run_tests" and not f.done.is_set()]
        await ex.wait(pending)
        if test_verdict(ex)["on_final_revision"]:
            return
        self.bus.publish(Notice("info", "no test run on the final revision: running the tests"))
        future = ex.submit("run_tests", {}, call_id="verify", turn=self.agent.turn if self.agent else 0)
        await ex.wait([future])

    async def close(self, status: str, reason: str, error: str | None) -> RunOutcome:
        """Stop the futures, then commit, write the record, and release everything."""
        self._wrapping_up = True
        try:
            if self.executor is not None:
                await self.executor.drain()
            await self._stack.aclose()
            await self.model.aclose()
        finally:
            outcome = await self._wrap_up(status, reason, error)
            if self._writer is not None:
                self._writer.close()
        return outcome

    async def _wrap_up(self, status: str, reason: str, error: str | None) -> RunOutcome:
        """Commit, write the patch and result.json, close the sandbox, remove the worktree."""
        result: dict[str, Any] = {}
        try:
            result = self._result(status, reason, error)
            if self.area is not None:
                result.update(await asyncio.to_thread(self._save_work))
                if self.config.apply and status != "error" and result.get("patch_bytes"):
                    try:
                        await asyncio.to_thread(
                            apply_patch, self.area.source, Path(result["patch_file"])
                        )
                        result["applied"] = True
                    except workarea.WorkAreaError as exc:
                        result["applied"] = False
                        result["apply_error"] = str(exc)
                        self.bus.publish(Notice("error", str(exc)))
        finally:
            boxes = [self.sandbox, self.executor.sandbox if self.executor else None]
            for box in {id(b): b for b in boxes if b is not None}.values():
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(15):
                        await box.close()
            if self.sandbox is not None and self.sandbox.kind == "docker":
                await remove_leftovers(self.run_id, self.config.sandbox.options.get("docker_host"))
            if self.area is not None:
                await asyncio.to_thread(self.area.remove)
            now = time.monotonic()
            result["wall_s"] = round(now - self._started, 3)
            # the agent's work: from the first request to its end, wrap-up left out
            result["loop_s"] = (
                round((self._loop_ended or now) - self._loop_started, 3)
                if self._loop_started is not None else None
            )
            broken = self._record_error() or write_result(self.out_dir / "result.json", result)
            if broken is not None and reason != "output_error":
                # the work is kept (branch, commit); the run's record is not whole
                status, reason = "error", "output_error"
                result.update(status=status, exit_reason=reason, error=broken)
            self.bus.publish(RunFinished(status, reason, result["wall_s"], summary(result)))
        return RunOutcome(status, reason, self.out_dir, result)

    def _save_work(self) -> dict[str, Any]:
        assert self.area is not None
        area = self.area
        patch = area.patch()
        patch_file = self.out_dir / "patch.diff"
        # committed first: the branch keeps the work even where the record cannot be written
        title = self.task.strip().splitlines()[0][:72] if self.task.strip() else "task"
        commit = area.commit(f"asyncfc-agent: {title}\n\nRun {self.run_id}.") if patch else None
        if commit is None and patch and area.is_git:
            commit = area.head()  # the changes were committed earlier (checkpoints)
        self.publish_area_notices()
        saved: dict[str, Any] = {}
        try:
            patch_file.write_bytes(patch)
        except OSError as exc:
            saved["patch_error"] = f"cannot write {patch_file}: {exc.strerror or exc}"
            self.bus.publish(Notice("error", saved["patch_error"]))
        return saved | {
            "branch": area.branch if (area.is_git and commit) else None,
            "commit": commit if area.is_git else None,
            "patch_file": str(patch_file),
            "patch_bytes": len(patch),
            "files_changed": area.changed_files() if patch else [],
            "left_out": sorted(workarea.shown(p) for p in area.left_out),
        }

    def publish_area_notices(self) -> None:
        """Warnings of the work area (a changed .git entry, files too big to commit)."""
        if self.area is not None:
            for text in self.area.take_notices():
                self.bus.publish(Notice("warning", text))

    def _result(self, status: str, reason: str, error: str | None) -> dict[str, Any]:
        cfg = self.config
        ex = self.executor
        futures = list(ex.futures.values()) if ex is not None else []
        final_rev = ex.workspace.revision if ex is not None else 0
        return {
            "run_id": self.run_id,
            "status": status,
            "exit_reason": reason,
            "error": error,
            "task": self.task,
            "mode": cfg.agent.mode.value,
            "model": cfg.model.model,
            "sandbox": self.sandbox.kind if self.sandbox is not None else cfg.sandbox.kind,
            "repo": str(self.repo.resolve()),
            "wall_s": None,
            "model_s": round(self.agent.model_s, 4) if self.agent else 0.0,
            "tool_s": round(sum((f.ended_s or 0) - (f.started_s or 0) for f in futures if f.ended_s), 4),
            "turns": self.agent.turn if self.agent else 0,
            "tokens": {
                "prompt": self.model.prompt_tokens,
                "completion": self.model.completion_tokens,
                "total": self.model.prompt_tokens + self.model.completion_tokens,
                "cache_read": self.model.cache_read_tokens,
                "cache_write": self.model.cache_write_tokens,
            },
            "context": self.agent.context_record() if self.agent else None,
            "cost_usd": round(self.model.cost_usd, 6),
            "final_answer": self.agent.final_text if self.agent else "",
            "workspace_revision": final_rev,
            "tests": test_verdict(ex) if ex is not None else None,
            "futures": [future_record(f, final_rev, ex.workspace) for f in futures] if ex else [],
            # started ahead of the model after edits; their time is not in tool_s
            "speculative": [future_record(f, final_rev, ex.workspace)
                            for f in ex.speculator.futures.values()] if ex else [],
            "out_dir": str(self.out_dir),
            "config_files": cfg.sources,
        }
