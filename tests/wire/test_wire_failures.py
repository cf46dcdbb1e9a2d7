"""Failures of the model's side, through litellm's real transforms against a wire server:
what is retried, after how long, and what is a configuration error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asyncfc_agent.agent.assembler import ToolCall
from asyncfc_agent.agent.model import ModelClient, ModelConfig, ModelConfigError, litellm_module
from asyncfc_agent.agent.response import Response, StreamHooks
from asyncfc_agent.agent.retry import request_not_built
from wire.replies import Call, Reply
from wire.runs import KEYS
from wire.server import WireServer

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "fix it"}]


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)


class Seen:
    def __init__(self) -> None:
        self.retries: list[tuple[int, float, str]] = []
        self.calls: list[ToolCall] = []
        self.text: list[str] = []

    def hooks(self) -> StreamHooks:
        return StreamHooks(on_text=self.text.append, on_call=self.calls.append,
                           on_retry=lambda n, d, e: self.retries.append((n, d, e)))


def complete(cfg: ModelConfig, seen: Seen) -> Response:
    """One response in an event loop of its own, litellm's clients closed before it ends."""
    async def once() -> Response:
        model = ModelClient(cfg)
        try:
            return await model.complete(MESSAGES, [], seen.hooks())
        finally:
            await model.aclose()

    return asyncio.run(once())


def config(server: WireServer) -> ModelConfig:
    return ModelConfig(model=server.model, api_base=server.base_url, retry_base_s=0.01)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama"])
def test_retry_after_is_what_the_client_waits(provider: str) -> None:
    replies = [Reply(status=429, retry_after="0.25"), Reply(text="ok")]
    seen = Seen()
    with WireServer(provider, replies) as server:
        response = complete(config(server), seen)
    assert response.text == "ok"
    assert [(n, d) for n, d, _e in seen.retries] == [(1, 0.25)]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama"])
def test_an_error_after_text_streamed_is_retried(provider: str) -> None:
    replies = [Reply(text="Let me look at the code first.", error_after=3), Reply(text="again")]
    seen = Seen()
    with WireServer(provider, replies) as server:
        response = complete(config(server), seen)
    assert response.text == "again" and len(seen.retries) == 1
    assert len(server.requests) == 2


def test_a_dropped_stream_after_a_call_ends_the_response_with_that_call() -> None:
    calls = [Call.of("read_file", path="a.py"), Call.of("grep", pattern="x")]
    replies = [Reply(text="Reading.", calls=calls, shape=frozenset({"whole"}), drop_after=5)]
    seen = Seen()
    with WireServer("openai", replies) as server:
        response = complete(config(server), seen)
    assert [c.name for c in response.calls] == [c.name for c in seen.calls] == ["read_file"]
    assert response.text == "Reading." and response.interrupted
    assert len(server.requests) == 1  # not asked again: the call may already run


def test_a_request_litellm_cannot_build_is_a_configuration_error_not_retried() -> None:
    litellm = litellm_module()
    bad: list[dict[str, Any]] = [*MESSAGES, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{bad"}}]},
        {"role": "tool", "tool_call_id": "a", "content": "r"}]
    with WireServer("gemini") as server:
        async def request() -> None:
            stream = await litellm.acompletion(model=server.model, messages=bad, api_base=server.base_url,
                                               stream=True)
            async for _chunk in stream:
                pass

        try:
            asyncio.run(request())
        except Exception as exc:
            asyncio.run(ModelClient(config(server)).aclose())
            assert request_not_built(exc, litellm)
        else:
            raise AssertionError("litellm built a request from invalid arguments")
        assert server.requests == []
    with WireServer("openai") as server:
        cfg = ModelConfig(model="openai/x", api_base="http://127.0.0.1:9", retry_base_s=0.01, max_retries=1)
        seen = Seen()
        with pytest.raises(Exception) as refused:
            complete(cfg, seen)
        assert not isinstance(refused.value, ModelConfigError)  # a refused connection is transient
        assert len(seen.retries) == 1


@pytest.mark.parametrize("provider", ["gemini", "ollama", "anthropic", "mistral"])
def test_a_history_with_cut_arguments_and_old_ids_reaches_every_provider_valid(provider: str) -> None:
    # what a session resumed from an older version, or switched from another model, holds:
    # arguments cut by max_tokens, duplicate delivery ids, a user message after a result
    cut = {"id": "call_1", "type": "function", "function": {"name": "grep", "arguments": '{"pattern": "de'}}
    delivery = {"id": "deliver_1", "type": "function", "function": {"name": "await_futures", "arguments": "{}"}}
    history = [*MESSAGES,
               {"role": "assistant", "content": None, "tool_calls": [cut]},
               {"role": "tool", "tool_call_id": "call_1", "name": "grep", "content": "error: cut"},
               {"role": "assistant", "content": None, "tool_calls": [delivery]},
               {"role": "tool", "tool_call_id": "deliver_1", "name": "await_futures", "content": "f1 done"},
               {"role": "user", "content": "resumed"},
               {"role": "assistant", "content": None, "tool_calls": [delivery]},
               {"role": "tool", "tool_call_id": "deliver_1", "name": "await_futures", "content": "f2 done"},
               {"role": "assistant", "content": ""}]
    seen = Seen()
    with WireServer(provider, [Reply(text="ok")]) as server:
        cfg = config(server)

        async def once() -> Response:
            model = ModelClient(cfg)
            try:
                return await model.complete(history, [], seen.hooks())
            finally:
                await model.aclose()

        response = asyncio.run(once())
    assert response.text == "ok" and seen.retries == []
    assert len(server.requests) == 1 and server.violations == []
