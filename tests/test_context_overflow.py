"""Long runs and the context window, with the scripted model through litellm's real
streaming path and real tools: a run whose results add up to several times a small
window fits it, compacted, with the scripted model keeping its place; a provider that
refuses a request as too long gets it compacted harder once more; refused again, the
turn ends with a clear error and the conversation still takes the next message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncfc_agent.agent.events import (
    ContextCompacted,
    Event,
    EventBus,
    FutureResolved,
    Notice,
    RequestSent,
)
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.agent.loop import Agent, Submitted
from asyncfc_agent.agent.model import ContextOverflow, ModelClient, ModelConfig
from asyncfc_agent.agent.response import StreamHooks
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.workspace import Workspace

FAST = {"ttft_s": 0.0, "tokens_per_s": 0}


class StrictProvider(ModelClient):  # type: ignore[misc]
    """The scripted model behind a provider whose window is ``window_chars`` characters
    of content (its own count, not ours)."""

    def __init__(self, config: ModelConfig, window_chars: int) -> None:
        super().__init__(config)
        self.window_chars = window_chars
        self.sizes: list[tuple[int, bool]] = []  # each request's characters, and refused
        self.sent: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []

    async def _stream(self, litellm: Any, messages: list[dict[str, Any]],
                      tools: list[dict[str, Any]], hooks: StreamHooks) -> Any:
        self.sent.append((json.loads(json.dumps(messages)), tools))
        size = sum(len(json.dumps(m)) for m in messages)
        refused = size > self.window_chars
        self.sizes.append((size, refused))
        if refused:
            raise litellm.ContextWindowExceededError(
                message=f"This model's maximum context length is exceeded ({size} characters)",
                model=self.config.model, llm_provider="openai")
        return await super()._stream(litellm, messages, tools, hooks)


@asynccontextmanager
async def agent_with(tmp_path: Path, turns: list[dict[str, Any]], window_chars: int,
                     context_window: int = 0, files: int = 4, lines: int = 300,
                     ) -> AsyncIterator[tuple[Agent, StrictProvider, list[Event]]]:
    root = tmp_path / "repo"
    root.mkdir()
    for k in range(files):
        (root / f"big{k}.txt").write_text(f"line {{}} of file {k}, with some words in it\n" * lines)
    script = tmp_path / "s.yaml"
    script.write_text(yaml.safe_dump({"profile": FAST, "turns": turns}))
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    async with LocalSandbox(root, snapshot_root=tmp_path / "snaps") as box:
        ex = Executor(tools=load_tools(["read_file", "run"]), sandbox=box,
                      workspace=Workspace(root), bus=bus, config=ExecutorConfig())
        async with ex:
            config = ModelConfig(model=f"scripted/{script}", max_retries=0,
                                 context_window=context_window)
            model = StrictProvider(config, window_chars)
            yield Agent(model=model, executor=ex, bus=bus), model, events


def reads(n: int) -> list[dict[str, Any]]:
    return [{"text": f"Reading {k}.", "tool_calls": [{"name": "read_file", "args": {"path": f"big{k}.txt"}}]}
            for k in range(n)]


async def test_a_long_run_fits_a_small_window_and_the_script_keeps_its_place(
    tmp_path: Path,
) -> None:
    from asyncfc_agent.agent.model import litellm_module

    turns = [*reads(16), {"text": "All read."}]
    async with agent_with(tmp_path, turns, window_chars=10**9, context_window=6000, files=16,
                          lines=100) as (
        agent, model, events,
    ):
        with pytest.raises(Submitted):
            await agent.run("read the files")
        limit = agent.context.limit
    # the scripted model gave each of its responses once, in order, through the summaries
    assert agent.final_text == "All read."
    assert len(model.sent) == 17
    litellm = litellm_module()
    resolved = [e for e in events if isinstance(e, FutureResolved)]
    assert len(resolved) == 16
    results = sum(litellm.token_counter(model="gpt-4o", text=e.result) for e in resolved)
    assert results > 3 * 6000
    # each request as sent, counted whole, is under the budget
    sizes = [litellm.token_counter(model="gpt-4o", messages=m, tools=t) for m, t in model.sent]
    assert max(sizes) <= limit, sizes
    compactions = [e for e in events if isinstance(e, ContextCompacted)]
    assert len(compactions) >= 2 and not any(e.hard for e in compactions)
    sent = [e for e in events if isinstance(e, RequestSent)]
    assert all(e.tokens <= e.budget == limit for e in sent)


async def test_a_refused_request_is_compacted_harder_and_sent_again(tmp_path: Path) -> None:
    turns = [*reads(4), {"text": "All read."}]
    async with agent_with(tmp_path, turns, window_chars=40_000) as (agent, model, events):
        with pytest.raises(Submitted):
            await agent.run("read the files")
    refusals = [i for i, (_size, refused) in enumerate(model.sizes) if refused]
    assert len(refusals) == 1  # our budget (the scripted default) never saw it coming
    first = refusals[0]
    # the same request, compacted, went through, and so did every later one
    assert not any(refused for _size, refused in model.sizes[first + 1:])
    assert model.sizes[first + 1][0] < model.sizes[first][0]
    hard = [e for e in events if isinstance(e, ContextCompacted) and e.hard]
    assert len(hard) == 1 and hard[0].tokens_after < hard[0].tokens_before
    assert any(isinstance(e, Notice) and "too long for the model" in e.message for e in events)
    # the budget learnt from the refusal: it stays under what was refused
    assert agent.context.limit < agent.context.budget.limit
    assert agent.final_text == "All read."


async def test_refused_twice_ends_the_turn_clearly_and_the_next_message_works(
    tmp_path: Path,
) -> None:
    turns = [*reads(2), {"text": "Read."}, {"text": "Still here."}]
    async with agent_with(tmp_path, turns, window_chars=10) as (agent, model, _events):
        with pytest.raises(ContextOverflow) as info:
            await agent.run("read the files")
        assert "does not fit the model's context window even compacted" in str(info.value)
        assert "context_window" in str(info.value)
        assert len(model.sizes) == 2  # the request and its one retry
        # the conversation is intact: a provider with room takes the next message
        model.window_chars = 10**9
        agent.messages.append({"role": "user", "content": "try again"})
        with pytest.raises(Submitted):
            while True:
                await agent.step()
        assert agent.final_text == "Read."
