"""An interactive session: the user talks to the agent while its futures run.

A user message starts a *turn*: a background task that runs the agent until the model
answers without tool calls. Whoever drives the session (the REPL) never waits for it:
messages sent meanwhile go to the agent's inbox and are given at the next turn boundary,
and futures still running when the model answers are delivered with the next message.
When such futures resolve while no turn runs, the session may wake the model with a turn
of its own (see ``wake``). Each turn ends with a checkpoint commit on the session's branch,
which ``undo`` takes back off. The conversation is saved in the run folder after every turn (see ``resume``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import protocol, workarea
from .events import Event, FutureProgress, Notice, WakeUp
from .executor import Executor
from .futures import Future
from .loop import Agent, Finished, Mode, Submitted
from .model import ModelConfigError, ModelError, litellm_module
from .partial import deliver_progress
from .resume import DEFAULT_TASK, Saved, record, resume_note
from .session import RunOutcome, Session
from .wake import CANCELLED_BY_USER, ReplConfig, Waker, wake_message

INTERRUPTED_NOTE = (
    "I interrupted your last turn (Ctrl-C): calls it had not finished and running futures "
    "were cancelled."
)


class NotNow(Exception):
    """An action that cannot happen in the session's present state; the message says why."""


class UnknownFuture(NotNow):
    pass


@dataclass
class TurnReport:
    """How one turn (a user message and the model's work on it) ended."""

    number: int  # the user's turn, from 1 over the whole conversation
    reason: str  # submitted, max_turns, max_cost, cancelled, model_error, error
    detail: str = ""  # the answer, or what went wrong
    checkpoint: str | None = None  # the commit made at its end, when files changed
    running: list[str] = field(default_factory=list)  # futures still running after it
    woke: list[str] = field(default_factory=list)  # a wake-up turn: the results that woke it


@dataclass
class Wake:
    """A wake-up turn to run: the results that woke the model, and why."""

    futures: list[str]
    reason: str
    streak: int
    delay_s: float
    failing: list[str] = field(default_factory=list)  # running suites with failing tests


@dataclass
class Interruption:
    turn: bool  # a turn was running and is cancelled
    futures: list[str]  # the futures cancelled
    dropped: int  # queued messages dropped


@dataclass
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    requests: int
    model_s: float
    responses: int
    user_turns: int
    futures: int
    tool_s: float
    context_tokens: int = 0  # the last request's size
    context_limit: int = 0  # the most a request may take
    compactions: int = 0
    cache_read: int = 0
    cache_write: int = 0
    wakes: int = 0  # wake-up turns (their responses are counted above)


class Interactive:
    """Drives a session turn by turn, without ever making its caller wait for a future."""

    def __init__(
        self,
        session: Session,
        *,
        saved: Saved | None = None,
        on_turn_end: Callable[[TurnReport], None] | None = None,
    ) -> None:
        self.session = session
        self.saved = saved
        self.on_turn_end = on_turn_end or (lambda _report: None)
        self.user_turns = saved.user_turns if saved else 0
        #: Told to the model before the next message (an interruption, an undo, a resume).
        self.notes: list[str] = [*saved.notes, resume_note(saved)] if saved else []
        #: Model responses a single message may take (the configured limit of a run).
        self.budget = session.config.agent.max_turns
        self._task: asyncio.Task[None] | None = None
        self._answering = False
        self._next_mode: Mode | None = None
        config: ReplConfig = session.config.repl
        self.waker = Waker(self, config)
        self.wakes = 0  # wake-up turns so far
        self.waking = False  # the running turn is a wake-up

    # -- parts -----------------------------------------------------------------------

    @property
    def agent(self) -> Agent:
        assert self.session.agent is not None, "the session is not open"
        return self.session.agent

    @property
    def executor(self) -> Executor:
        assert self.session.executor is not None, "the session is not open"
        return self.session.executor

    @property
    def area(self) -> workarea.WorkArea:
        assert self.session.area is not None, "the session is not open"
        return self.session.area

    @property
    def busy(self) -> bool:
        """A turn is running (the model works on a message)."""
        return self._task is not None and not self._task.done()

    def running(self) -> list[Future]:
        return [f for f in self.executor.futures.values() if not f.done.is_set()]

    def lost(self) -> list[dict[str, Any]]:
        """Futures of the earlier process (a resumed session) whose end the model never
        saw: id, tool, and the state they were last saved in."""
        return list(self.saved.unfinished) if self.saved else []

    def future(self, fid: str) -> Future:
        key = fid if fid.startswith("f") else f"f{fid}"
        if key not in self.executor.futures:
            known = ", ".join(self.executor.futures) or "none yet"
            raise UnknownFuture(f"no future {fid} (known: {known})")
        return self.executor.futures[key]

    # -- opening and closing ---------------------------------------------------------

    async def open(self) -> None:
        await self.session.open()
        # a turn may end while futures run: their results go with the next message
        self.agent.config.finishing_gate = False
        if self.saved is not None:
            self.agent.messages = list(self.saved.messages)
        self.session.bus.subscribe(self._on_event)
        self.save()

    def _on_event(self, event: Event) -> None:
        # a speculative run (agent/speculate.py) is no future of the model's: it wakes nothing
        if event.kind == "future_resolved" and not self.busy:
            if (resolved := self.executor.futures.get(event.to_dict()["future"])) is not None:
                self.waker.on_resolved(resolved)
        elif (isinstance(event, FutureProgress) and event.failures and not self.busy
              and (future := self.executor.futures.get(event.future)) is not None):
            self.waker.on_failing(future)

    async def close(self, reason: str = "user_exit") -> RunOutcome:
        """Stop the turn and the futures, save the conversation, end the session."""
        self.waker.cancel()
        if self.session.agent is not None:
            if self.busy or self.running():
                self.interrupt()
            await self.settle()
            self.save()
        outcome = await self.session.close("ended", reason, None)
        if self.session.agent is not None:
            self.save(closed=True, commit=outcome.result.get("commit"))
        return outcome

    # -- turns -----------------------------------------------------------------------

    def send(self, text: str) -> bool:
        """Give the model a message: True if it starts a turn, False if it waits in the
        inbox of the running turn (it is given at the next turn boundary)."""
        self.waker.user_wrote()
        if self.busy:
            self.agent.inbox.append(text)
            return False
        self._task = asyncio.create_task(self._converse(text), name="turn")
        return True

    def wake(self, futures: list[str], reason: str, streak: int, delay_s: float,
             failing: list[str] | None = None) -> None:
        """Start a wake-up turn: the model is given ``futures``' results (and the partial
        results of the running suites ``failing``) and reacts."""
        assert not self.busy, "a wake-up never interrupts a turn"
        self._task = asyncio.create_task(
            self._converse(Wake(futures, reason, streak, delay_s, failing or [])), name="wake-up"
        )

    async def settle(self) -> None:
        """Wait until no turn runs (the futures may go on)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait([self._task])

    async def _converse(self, first: str | Wake) -> None:
        turn = first
        while True:
            report = await (self._turn(turn) if isinstance(turn, str) else self._wake_turn(turn))
            self.on_turn_end(report)
            # no await between this check and the end of the task: a message sent after
            # it starts a turn of its own
            if not self.agent.inbox:
                self.waker.after_turn()
                return
            turn = self.agent.inbox.pop(0)

    async def _turn(self, text: str) -> TurnReport:
        self.user_turns += 1
        if self.session.task == DEFAULT_TASK:
            self.session.task = text  # names the session's final commit
        self.agent.config.max_turns = self.agent.turn + self.budget  # the limit is per message
        report = await self._answer(text)
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")[:60]
        report.checkpoint = await self._checkpoint(f"turn {report.number}: {first}")
        report.running = [f.id for f in self.running()]
        self.save()
        return report

    async def _wake_turn(self, wake: Wake) -> TurnReport:
        """The model reacts to results nobody asked for; its responses count against the
        budget of the user's last message, so a wake-up cannot extend it."""
        woke = [*wake.futures, *wake.failing]
        self.session.bus.publish(
            WakeUp(self.agent.turn + 1, woke, wake.reason, wake.streak, wake.delay_s)
        )
        self.wakes += 1
        self.waking = True
        running = [self.executor.futures[i] for i in wake.failing]
        try:
            report = await self._answer(wake_message(wake.futures, wake.failing), deliver=True,
                                        progress=running)
        finally:
            self.waking = False
        report.woke = woke
        ids = ", ".join(woke)
        report.checkpoint = await self._checkpoint(f"wake-up after turn {report.number}: {ids}")
        report.running = [f.id for f in self.running()]
        self.save()
        return report

    async def _answer(self, text: str, *, deliver: bool = False,
                      progress: list[Future] | None = None) -> TurnReport:
        agent, n = self.agent, self.user_turns
        if self._next_mode is not None:
            agent.config.mode, self._next_mode = self._next_mode, None
        if not agent.messages:
            agent.messages = [{"role": "system", "content": agent.system_prompt}]
        agent.messages += [{"role": "user", "content": note} for note in self.notes]
        self.notes = []
        if deliver:  # the results first, then the words that ask for a reaction
            agent.deliver()
            deliver_progress(agent, [f for f in progress or [] if not f.done.is_set()])
        self._answering = True
        try:
            await agent.run(text)
        except Submitted:
            # the response itself: the agent keeps its last non-empty answer as final_text
            return TurnReport(n, Submitted.reason, agent.messages[-1].get("content") or "")
        except Finished as exc:
            return TurnReport(n, exc.reason, str(exc))
        except ModelError as exc:
            return TurnReport(n, "model_error", str(exc))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the cancel came from interrupt(): the turn ends, not the task
            protocol.close_open_calls(agent.messages, CANCELLED_BY_USER)
            self.notes.append(INTERRUPTED_NOTE)
            return TurnReport(n, "cancelled")
        except Exception as exc:  # a bug must not end the session with the user's work in it
            protocol.close_open_calls(agent.messages, "not run: the turn failed")
            return TurnReport(n, "error", f"{type(exc).__name__}: {exc}")
        finally:
            self._answering = False
        raise AssertionError("the agent loop returned without a reason")  # pragma: no cover

    async def _checkpoint(self, subject: str) -> str | None:
        try:
            return await asyncio.to_thread(self.area.commit, f"asyncfc-agent: {subject}")
        except workarea.WorkAreaError as exc:
            self.session.bus.publish(Notice("error", f"checkpoint of {subject} failed: {exc}"))
            return None
        finally:
            self.session.publish_area_notices()

    def interrupt(self) -> Interruption:
        """Cancel the running turn, the futures still running and the queued messages."""
        self.waker.cancel()  # a wake-up that was about to start is stopped too
        turn = self._answering and self._task is not None
        if turn and self._task is not None:
            self._task.cancel()
        dropped = len(self.agent.inbox)
        self.agent.inbox.clear()
        cancelled = [f.id for f in self.running() if self.executor.cancel(f.id, CANCELLED_BY_USER)]
        return Interruption(turn, cancelled, dropped)

    # -- futures ---------------------------------------------------------------------

    def cancel(self, fid: str) -> bool:
        """Cancel one future; False when it had already ended."""
        return self.executor.cancel(self.future(fid).id, CANCELLED_BY_USER)

    async def await_futures(self, ids: list[str]) -> list[Future]:
        """Wait for the futures named (all running ones when none are)."""
        targets = [self.future(i) for i in ids] if ids else self.running()
        await self.executor.wait(targets)
        return targets

    def output(self, fid: str) -> str:
        """A future's output: all of it once it ended, what it printed so far before."""
        future = self.future(fid)
        if future.result is not None:
            return future.result.output
        return future.output_text()

    # -- the work area ---------------------------------------------------------------

    async def diff(self) -> str:
        """The session's changes, from where it started to the files as they are now."""
        patch = await asyncio.to_thread(self.area.patch)
        self.session.publish_area_notices()
        return patch.decode("utf-8", "replace")

    async def undo(self) -> workarea.Undone | None:
        """Revert the newest checkpoint (the last turn that changed files) and anything
        changed after it; None when there is nothing to revert."""
        if self.busy:
            raise NotNow("a turn is running: wait for it, or press Ctrl-C to stop it first")
        writers = [f.id for f in self.running() if f.effects.writes]
        if writers:
            raise NotNow(f"{', '.join(writers)} may still write files: /await or /cancel first")
        undone = await asyncio.to_thread(workarea.undo_last, self.area)
        self.session.publish_area_notices()
        if undone is not None:
            self.executor.workspace.record_edit(undone.files, by="undo")
            what = f"'{undone.subject}'" if undone.subject else "the uncommitted changes"
            files = ", ".join(undone.files) or "no files"
            self.notes.append(f"I reverted the changes of {what}: {files} are back as they "
                              f"were at commit {undone.target[:12]}.")
            self.save()
        return undone

    # -- settings --------------------------------------------------------------------

    def set_model(self, name: str) -> str:
        """Switch the model from the next request on; ConfigError or ModelConfigError if
        it cannot be used."""
        from .assemble import resolve_model

        config = self.session.model.config
        old, config.model = config.model, resolve_model(name)
        try:
            self.session.model.check_environment(litellm_module())
        except ModelConfigError:
            config.model = old
            raise
        return config.model

    def set_mode(self, name: str) -> Mode:
        """Switch the mode; a running turn keeps its mode to its end."""
        try:
            mode = Mode(name)
        except ValueError:
            raise NotNow(f"unknown mode {name!r}: async, parallel or sync") from None
        if self.busy:
            self._next_mode = mode
        else:
            self.agent.config.mode = mode
        return mode

    @property
    def mode(self) -> Mode:
        return self._next_mode or self.agent.config.mode

    def usage(self) -> Usage:
        model, futures = self.session.model, list(self.executor.futures.values())
        context = self.agent.context
        return Usage(
            prompt_tokens=model.prompt_tokens, completion_tokens=model.completion_tokens,
            cost_usd=model.cost_usd, requests=model.requests, model_s=self.agent.model_s,
            responses=self.agent.turn, user_turns=self.user_turns, futures=len(futures),
            tool_s=sum(f.duration_s(self.session.bus.now()) for f in futures),
            context_tokens=context.last_tokens, context_limit=context.limit,
            compactions=context.compactions, cache_read=model.cache_read_tokens,
            cache_write=model.cache_write_tokens,
            wakes=self.wakes,
        )

    # -- the record ------------------------------------------------------------------

    def save(self, **extra: Any) -> Path:
        """Write the conversation and the session's state to the run folder (see
        ``resume.record``); the trajectory is written all along."""
        return record(self, **extra)
