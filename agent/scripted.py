"""The scripted model: a litellm custom provider that replays a script.

``--model scripted/PATH`` selects it. Responses stream through litellm's own streaming
path with the script's latency profile: text in several chunks, each tool call's
arguments in several fragments, so a call closes mid-response. It is open-loop: tool
results are never read. Which turn to answer is the number of assistant messages in the
conversation that it wrote (the executor's delivery messages and the short messages the
request's rewrite puts between a tool result and a user message do not count, a summary
of compacted turns counts the responses it names), so a resumed conversation continues
where it was.

This module imports litellm; import it only through ``agent.model``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import GenericStreamingChunk

from .history import BRIDGE, is_delivery_id
from .protocol import summary_responses
from .script import Profile, Script, ScriptedCall, Turn, call_tokens, load_script, tokens

PROVIDER = "scripted"
#: Characters per streamed fragment of tool-call arguments (at least three fragments).
_FRAGMENT_CHARS = 24
_TEXT_CHUNKS = 6


class ScriptedLLM(CustomLLM):
    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[tuple[str, float], Script] = {}

    def _script(self, path: str, profile: dict[str, Any] | None) -> Script:
        p = Path(path)
        key = (str(p.resolve()), p.stat().st_mtime if p.exists() else 0.0)
        if key not in self._cache:
            self._cache[key] = load_script(p)
        script = self._cache[key]
        if profile:
            script = script.model_copy(update={"profile": Profile.model_validate(profile)})
        return script

    async def astreaming(  # type: ignore[override]
        self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any
    ) -> AsyncIterator[GenericStreamingChunk]:
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        script = self._script(model, metadata.get("scripted_profile"))
        k = turn_index(messages)
        turn = script.turn(k)
        prompt_tokens = sum(tokens(str(m.get("content") or "")) for m in messages)
        async for chunk in stream_turn(turn, script.profile, k, prompt_tokens):
            yield chunk

    async def acompletion(  # type: ignore[override]
        self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any
    ) -> Any:
        raise NotImplementedError("the scripted model only streams: call with stream=True")

    def streaming(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> Iterator[GenericStreamingChunk]:
        raise NotImplementedError("the scripted model only streams asynchronously")


def turn_index(messages: list[dict[str, Any]]) -> int:
    """How many responses of the model the conversation already holds."""
    count = 0
    for m in messages:
        if m.get("role") == "user":  # a compacted history counts the responses it replaced
            count += summary_responses(_text(m.get("content")))
        if m.get("role") != "assistant":
            continue
        calls = m.get("tool_calls") or []
        if calls and all(is_delivery_id(_call_id(c)) for c in calls):
            continue
        if not calls and _text(m.get("content")) == BRIDGE:
            continue  # put in by the request's rewrite, not written by the model
        count += 1
    return count


def _text(content: Any) -> str:
    if isinstance(content, list):  # content blocks
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")


def _call_id(call: Any) -> str:
    return str(call.get("id") if isinstance(call, dict) else getattr(call, "id", ""))


def _chunk(
    text: str = "",
    tool_use: dict[str, Any] | None = None,
    finish: str = "",
    usage: dict[str, int] | None = None,
) -> GenericStreamingChunk:
    return {
        "text": text,
        "tool_use": tool_use,  # type: ignore[typeddict-item]
        "is_finished": bool(finish),
        "finish_reason": finish,
        "usage": usage,  # type: ignore[typeddict-item]
        "index": 0,
    }


def _split(text: str, parts: int) -> list[str]:
    size = max(1, math.ceil(len(text) / parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _fragments(args: str) -> list[str]:
    parts = max(3, math.ceil(len(args) / _FRAGMENT_CHARS)) if len(args) >= 3 else 1
    return _split(args, parts)


async def stream_turn(
    turn: Turn, profile: Profile, k: int, prompt_tokens: int = 0
) -> AsyncIterator[GenericStreamingChunk]:
    """The chunks of one response, each sent when its tokens have been "decoded"."""
    loop = asyncio.get_running_loop()
    clock = loop.time() + profile.ttft_s + profile.seconds(turn.think_tokens)

    async def at(extra_tokens: float) -> None:
        nonlocal clock
        clock += profile.seconds(extra_tokens)
        delay = clock - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    if turn.text:
        pieces = _split(turn.text, _TEXT_CHUNKS)
        total = tokens(turn.text)
        for piece in pieces:
            await at(total * len(piece) / len(turn.text))
            yield _chunk(text=piece)
    for i, call in enumerate(turn.tool_calls):
        async for chunk in _stream_call(call, i, k, at):
            yield chunk
    await at(0)
    completion = turn.think_tokens + tokens(turn.text) + sum(call_tokens(c) for c in turn.tool_calls)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }
    yield _chunk(finish="tool_calls" if turn.tool_calls else "stop", usage=usage)


async def _stream_call(call: ScriptedCall, i: int, k: int, at: Any) -> AsyncIterator[GenericStreamingChunk]:
    args = call.compact_args()
    arg_tokens = tokens(args)
    for j, fragment in enumerate(_fragments(args)):
        share = arg_tokens * len(fragment) / len(args) if args else 0
        await at(share + (tokens(call.name) if j == 0 else 0))
        yield _chunk(
            tool_use={
                "id": f"call_{k}_{i}" if j == 0 else None,
                "type": "function",
                "function": {"name": call.name if j == 0 else None, "arguments": fragment},
                "index": i,
            }
        )
