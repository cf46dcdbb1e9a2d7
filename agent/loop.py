"""The agent loop: deliver, query, collect, repeat.

The futures machinery lives in the executor; the loop only decides, per mode, when the
calls of a response are dispatched and what their tool results say. A run ends with a
``Finished`` exception that carries the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import protocol
from .assembler import ToolCall
from .context import ContextKeeper, TokenCounter, in_flight_note
from .events import (
    CallClosed,
    ContextCompacted,
    EventBus,
    FirstToken,
    FutureDelivered,
    HandleReturned,
    InstructionsLoaded,
    ModelRetry,
    Notice,
    RequestSent,
    ResponseDone,
    TextDelta,
    TurnEnded,
)
from .executor import Executor
from .futures import Future, FutureState
from .history import next_delivery
from .instructions import ProjectInstructions, result_section
from .model import ContextOverflow, ModelClient, litellm_module
from .partial import UNTIL, failing_unseen, take_unseen
from .response import Response, StreamHooks


class Mode(StrEnum):
    ASYNC = "async"  # dispatch as each call closes; results or handles after a grace window
    PARALLEL = "parallel"  # dispatch all calls when the response ends; wait for all
    SYNC = "sync"  # one call at a time after the response ends, each blocking


@dataclass
class AgentConfig:
    """How the loop runs."""

    mode: Mode = Mode.ASYNC
    #: Seconds after a response ends during which a call's real result can still be
    #: returned in place of a handle.
    grace_s: float = 0.1
    #: Responses of the model at most.
    max_turns: int = 60
    #: Dollars of model cost at most (None: no limit).
    max_cost_usd: float | None = None
    #: Times the finishing gate asks the model again when futures resolved after its answer.
    max_gate_prompts: int = 2
    #: Seconds an ``await_futures`` may block at most, whatever it asks.
    max_await_s: float = 1800.0
    #: Hold a final answer given while futures are pending (off in an interactive
    #: session, where the user gets the prompt back and results arrive later).
    finishing_gate: bool = True
    #: Times in a row the model is asked to continue an answer cut by the output limit.
    max_continuations: int = 3
    #: ``await_futures(until="first_failure")`` returns at a running suite's first failure;
    #: false, it waits for the futures' ends (the benchmark's plain async mode).
    early_wake: bool = True


class Finished(Exception):
    """The run is over; ``reason`` says why."""

    reason = "finished"


class Submitted(Finished):
    reason = "submitted"


class Declined(Finished):
    """The provider filtered the answer, or the model refused the task."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class LimitReached(Finished):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class AwaitArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] | None = None
    mode: str = Field("all", pattern="^(all|any)$")
    timeout_s: float = Field(600.0, ge=0)
    #: Also return when a running test suite reports a failure not shown yet.
    until: str = Field("resolved", pattern=f"^({'|'.join(UNTIL)})$")


class CancelArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str


class Agent:
    def __init__(
        self,
        *,
        model: ModelClient,
        executor: Executor,
        bus: EventBus,
        config: AgentConfig | None = None,
        system_prompt: str = protocol.SYSTEM_PROMPT,
        instructions: ProjectInstructions | None = None,
    ) -> None:
        self.model = model
        self.executor = executor
        self.bus = bus
        self.config = config or AgentConfig()
        self.system_prompt = system_prompt
        self.instructions = instructions
        self.messages: list[dict[str, Any]] = []
        self.turn = 0
        self.final_text = ""
        self.model_s = 0.0
        self._gate_prompts = 0
        self._continuations = 0  # answers cut by the output limit, in a row
        self._empty = 0  # empty responses, in a row
        self._calls: dict[str, Future] = {}  # call id -> future, for the current response
        #: Messages of the user that arrived during a turn, given at the next turn boundary.
        self.inbox: list[str] = []
        self._tool_schemas = [t.schema() for t in executor.tools.values()]
        self._tool_schemas += protocol.control_schemas()
        self._context: ContextKeeper | None = None

    # -- the loop --------------------------------------------------------------------

    async def run(self, task: str) -> str:
        """Work on ``task`` until the model submits or a limit is hit (``Finished``)."""
        if not self.messages:
            self.messages = [{"role": "system", "content": self.system_prompt}]
        self.messages.append({"role": "user", "content": task})
        while True:
            await self.step()

    async def step(self) -> None:
        self._check_limits()
        self.deliver()
        while self.inbox:
            self.messages.append({"role": "user", "content": self.inbox.pop(0)})
        response = await self.query()
        self.messages.append(response.message())
        self.messages += await self.collect(response)
        if response.interrupted:
            self.messages.append({"role": "user", "content": protocol.interrupted_message(len(response.calls))})
        if response.calls:
            self._continuations = self._empty = 0
        elif not self._goes_on(response):
            await self.finish(response)

    def _goes_on(self, response: Response) -> bool:
        """A response without calls that is no answer: ask the model to go on (bounded),
        or end the run with its own reason."""
        if response.refusal or response.finish_reason == "content_filter":
            reason = "refused" if response.refusal else "content_filter"
            detail = response.refusal or "the provider's content filter stopped the answer"
            raise Declined(reason, detail)
        if response.finish_reason == "length":
            if self._continuations >= self.config.max_continuations:
                raise Declined("length", f"the answer hit the output token limit "
                                         f"{self._continuations + 1} times in a row")
            self._continuations += 1
            self.messages.append({"role": "user", "content": protocol.continue_message()})
            return True
        if response.empty and not self.model.config.scripted and self._empty < 1:
            # (an empty message ends a scripted run by the script format's contract)
            self._empty += 1
            self.messages.append({"role": "user", "content": protocol.empty_message()})
            return True
        return False

    # -- one response ----------------------------------------------------------------

    async def query(self) -> Response:
        self.turn += 1
        turn = self.turn
        self._calls = {}
        tokens = self.fit_context()
        self.bus.publish(RequestSent(turn, len(self.messages), tokens, self.context.limit))
        hooks = StreamHooks(
            on_first_token=lambda: self.bus.publish(FirstToken(turn)),
            on_text=lambda text: self.bus.publish(TextDelta(turn, text)),
            on_call=lambda call: self._on_call(call, turn),
            on_retry=lambda n, d, e: self.bus.publish(ModelRetry(turn, n, round(d, 2), e)),
        )
        started = time.monotonic()
        try:
            response = await self._complete(hooks)
        finally:
            self.model_s += time.monotonic() - started
        if response.interrupted:
            self.bus.publish(Notice("warning", f"the response broke off after {len(response.calls)} "
                                               f"call(s); going on with them ({response.interrupted})"))
        self.bus.publish(
            ResponseDone(
                turn, response.text, len(response.calls), response.prompt_tokens,
                response.completion_tokens, response.cost_usd, round(response.duration_s, 4),
                response.finish_reason, response.cache_read_tokens, response.cache_write_tokens,
            )
        )
        return response

    async def _complete(self, hooks: StreamHooks) -> Response:
        """The response; a request the provider finds too long is compacted harder and
        sent once more (a second refusal ends the turn with a ``ContextOverflow``)."""
        try:
            return await self.model.complete(self.messages, self._tool_schemas, hooks)
        except ContextOverflow as exc:
            self.context.refused(self.context.last_tokens)
            self.fit_context(hard=True)
            self.bus.publish(Notice("warning", f"the request was too long for the model ({exc}): "
                                               "the conversation was compacted and sent again"))
        try:
            return await self.model.complete(self.messages, self._tool_schemas, hooks)
        except ContextOverflow as exc:
            raise ContextOverflow(
                f"the conversation does not fit the model's context window even compacted "
                f"({self.context.last_tokens} tokens by our count); set [model] context_window "
                f"to the window the server really has: {exc}"
            ) from exc

    # -- context ---------------------------------------------------------------------

    @property
    def context(self) -> ContextKeeper:
        """The keeper of the current model's budget (the model may change in a session)."""
        budget = self.model.budget()
        if self._context is None or self._context.budget != budget:
            counter = TokenCounter(self.model.config.model, litellm_module())
            self._context = ContextKeeper(budget, counter)
        return self._context

    def context_record(self) -> dict[str, Any]:
        """The budget and its use, for the run record."""
        keeper = self.context
        budget = keeper.budget
        return {"window": budget.window, "reserve": budget.reserve, "source": budget.source,
                "limit": keeper.limit, "last_request_tokens": keeper.last_tokens,
                "largest_request_tokens": keeper.largest, "compactions": keeper.compactions}

    def fit_context(self, *, hard: bool = False) -> int:
        """Compact the history if the next request would go over the budget; its size."""
        keeper = self.context
        in_flight = in_flight_note(list(self.executor.futures.values()), self.bus.now())
        done = keeper.fit(self.messages, self._tool_schemas, in_flight, hard=hard)
        if done is not None:
            self.bus.publish(ContextCompacted(
                self.turn, done.tokens_before, done.tokens_after, keeper.limit, done.shortened,
                done.summarised, done.in_flight, hard,
            ))
        return keeper.last_tokens

    def _on_call(self, call: ToolCall, turn: int) -> None:
        error = call.error or self._unknown(call)
        future = None
        if error is None and self._is_tool(call) and self.config.mode is Mode.ASYNC:
            future = self.executor.submit(call.name, call.args, call_id=call.id, turn=turn)
            self._calls[call.id] = future
        self.bus.publish(
            CallClosed(turn, call.id, call.name, call.arguments,
                       future.id if future else None, error)
        )

    def _is_tool(self, call: ToolCall) -> bool:
        return call.name in self.executor.tools

    def _unknown(self, call: ToolCall) -> str | None:
        if self._is_tool(call) or call.name in protocol.CONTROL_TOOLS:
            return None
        names = ", ".join([*self.executor.tools, *sorted(protocol.CONTROL_TOOLS)])
        return f"unknown tool {call.name!r}; the tools are: {names}"

    async def collect(self, response: Response) -> list[dict[str, Any]]:
        """The tool messages answering every call of ``response``, in call order."""
        contents: dict[str, str] = {}
        turn_futures: list[Future] = []
        for call in response.calls:
            if call.error is not None:
                contents[call.id] = protocol.argument_error(call.error, response.finish_reason == "length")
            elif (error := self._unknown(call)) is not None:
                contents[call.id] = f"error: {error}"
            elif self._is_tool(call):
                future = self._calls.get(call.id) or self.executor.submit(
                    call.name, call.args, call_id=call.id, turn=self.turn
                )
                self._calls[call.id] = future
                turn_futures.append(future)
                if self.config.mode is Mode.SYNC:
                    await self.executor.wait([future])
        if self.config.mode is Mode.ASYNC:
            await self.executor.wait(self._worth_a_grace(turn_futures), timeout_s=self.config.grace_s)
        else:
            await self.executor.wait(turn_futures)
        handles = 0
        for future in turn_futures:
            if future.done.is_set():
                contents[future.call_id] = self._deliver_one(future, "inline")
            else:
                handles += 1
                contents[future.call_id] = protocol.render_handle(future, self.bus.now())
                self.bus.publish(HandleReturned(future.id, self.turn))
        for call in response.calls:  # control calls run after the turn's futures are in
            if call.id not in contents:
                contents[call.id] = await self._control(call)
        self.bus.publish(TurnEnded(self.turn, handles, len(turn_futures) - handles))
        return [protocol.tool_message(c.id, c.name, contents[c.id]) for c in response.calls]

    def _worth_a_grace(self, futures: list[Future]) -> list[Future]:
        """The futures that may still end within the grace window: those that started
        less than a window ago (or wait only for a slot). One that has run longer is a
        test suite or a build: waiting for it would only delay the next request."""
        now, grace = self.bus.now(), self.config.grace_s
        return [
            f for f in futures
            if not f.done.is_set() and (
                (f.state is FutureState.RUNNING and now - (f.started_s or now) < grace)
                or (f.state is FutureState.PENDING and not f.deps)
            )
        ]

    # -- delivery --------------------------------------------------------------------

    def _deliver_one(self, future: Future, via: str) -> str:
        text = protocol.render_result(future, self.executor.workspace, self.bus.now())
        if not future.delivered:
            text += self._instructions_for(future)
        future.message = text
        if not future.delivered:
            future.delivered = True
            future.delivered_via = via
            self.bus.publish(FutureDelivered(future.id, via, self.turn))
        return text

    def _instructions_for(self, future: Future) -> str:
        """Instruction files of the folders on the way to the path a result names."""
        path = future.args.get("path")
        if self.instructions is None or not isinstance(path, str) or future.state is not FutureState.RESOLVED:
            return ""
        docs = self.instructions.for_path(path, is_folder=future.tool == "list_files")
        for doc in docs:
            self.bus.publish(InstructionsLoaded(doc.path, len(doc.text), doc.truncated, doc.text, future.id))
        return result_section(docs)

    def deliver(self) -> int:
        """Append resolved, undelivered futures as one synthetic ``await_futures`` call."""
        ready = [f for f in self.executor.undelivered() if f.done.is_set()]
        if not ready:
            return 0
        # numbered over the whole conversation, a resumed one included: ids must be unique
        call = protocol.delivery_call([f.id for f in ready], next_delivery(self.messages))
        call_id = call["tool_calls"][0]["id"]
        body = "\n\n".join(self._deliver_one(f, "delivery") for f in ready)
        self.messages += [call, protocol.tool_message(call_id, protocol.AWAIT, body)]
        return len(ready)

    # -- control calls ---------------------------------------------------------------

    async def _control(self, call: ToolCall) -> str:
        try:
            if call.name == protocol.AWAIT:
                return await self._await(AwaitArgs.model_validate(call.args))
            return await self._cancel(CancelArgs.model_validate(call.args))
        except ValidationError as exc:
            return f"error: {protocol.describe_error(call.name, exc)}"
        except _UnknownFuture as exc:
            return f"error: {exc}"

    def _lookup(self, ids: list[str]) -> list[Future]:
        unknown = [i for i in ids if i not in self.executor.futures]
        if unknown:
            known = ", ".join(self.executor.futures) or "none yet"
            raise _UnknownFuture(f"unknown future {', '.join(unknown)} (known: {known})")
        return [self.executor.futures[i] for i in ids]

    async def _await(self, args: AwaitArgs) -> str:
        targets = self._lookup(args.ids) if args.ids else self.executor.undelivered()
        if not targets:
            return "no futures to await: you have seen every result"
        if args.timeout_s > 0:
            timeout = min(args.timeout_s, self.config.max_await_s)
            early = args.until == "first_failure" and self.config.early_wake
            until = failing_unseen if early else None
            await self.executor.wait(targets, mode=args.mode, timeout_s=timeout, until=until)
        parts = []
        for f in targets:
            if f.done.is_set():
                parts.append(self._deliver_one(f, "await"))
            else:
                parts.append(protocol.render_progress(f, self.executor.peek(f), self.bus.now(),
                                                      take_unseen(f)))
        return "\n\n".join(parts)

    async def _cancel(self, args: CancelArgs) -> str:
        (future,) = self._lookup([args.id])
        if not self.executor.cancel(future.id, "cancelled by the model"):
            return f"{future.id} had already ended:\n" + self._deliver_one(future, "await")
        await self.executor.wait([future], timeout_s=10)
        return self._deliver_one(future, "await")

    # -- finishing -------------------------------------------------------------------

    async def finish(self, response: Response) -> None:
        """A response without calls: submit, unless futures resolved after it (the gate)."""
        if response.text.strip():
            self.final_text = response.text
        pending = self.executor.undelivered()
        if not pending or not self.config.finishing_gate:
            raise Submitted(self.final_text)
        if self._gate_prompts >= self.config.max_gate_prompts:
            n = self.executor.cancel_all("the model finished")
            self.bus.publish(Notice("warning", f"finished with {n} future(s) cancelled"))
            raise Submitted(self.final_text)
        self._gate_prompts += 1
        self.bus.publish(
            Notice("info", f"the model answered with {len(pending)} future(s) pending: "
                           "awaiting them and asking it to confirm")
        )
        await self.executor.wait(pending, timeout_s=self.config.max_await_s)
        self.deliver()
        self.messages.append({"role": "user", "content": protocol.gate_message(len(pending))})

    def _check_limits(self) -> None:
        if self.turn >= self.config.max_turns:
            raise LimitReached("max_turns", f"reached the limit of {self.config.max_turns} turns")
        limit = self.config.max_cost_usd
        if limit is not None and self.model.cost_usd >= limit:
            raise LimitReached("max_cost", f"model cost ${self.model.cost_usd:.4f} >= ${limit}")


class _UnknownFuture(Exception):
    pass
