"""Replies rendered in each provider's streaming wire format.

OpenAI chat completions (also Mistral, DeepSeek, vLLM, llama.cpp): server-sent events of
``chat.completion.chunk`` objects, ``data: [DONE]`` at the end. Anthropic messages: named
events (``message_start``, ``content_block_*``, ``message_delta``, ``message_stop``,
``ping``, ``error``). Gemini ``streamGenerateContent?alt=sse``: each event a whole
``GenerateContentResponse`` with calls in one part each. Ollama ``/api/chat``: one JSON
object a line, the last with ``done: true``.

Each renderer returns the frames of the stream and what it sent that a later request
must carry back (the ids it made, reasoning and signatures).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any

from wire.replies import Call, Reply

REFUSAL = "I can't help with that."


def signature(n: int) -> str:
    """A signature of the reasoning of response ``n`` (opaque, as real ones are)."""
    return base64.b64encode(f"signature-of-response-{n}".encode()).decode()


@dataclass
class Sent:
    """What a response gave the client that it has to send back unchanged."""

    call_ids: list[str] = field(default_factory=list)
    reasoning: str = ""
    signature: str = ""


@dataclass
class Rendered:
    frames: list[bytes]
    error_frame: bytes
    sent: Sent
    content_type: str = "text/event-stream"


def split(text: str, parts: int) -> list[str]:
    if not text:
        return []
    size = max(1, math.ceil(len(text) / parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    body = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {body}\n\n".encode()


# -- OpenAI chat completions -------------------------------------------------------------


def openai(reply: Reply, n: int, id_style: str = "openai") -> Rendered:
    ids = [c.id or _openai_id(n, i, id_style) for i, c in enumerate(reply.calls)]
    shape = reply.shape

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse({
            "id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "x", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })

    frames = [chunk({"role": "assistant", "content": ""})]
    for piece in split(reply.reasoning, 3):
        frames.append(chunk({"reasoning_content": piece}))
    for piece in split(reply.text, 3):
        frames.append(chunk({"content": piece}))
        if "empty" in shape:
            frames.append(chunk({"content": ""}))
    if reply.finish == "refusal":
        frames.append(chunk({"refusal": REFUSAL}))
    per_call = [_openai_fragments(call, i, ids[i], shape) for i, call in enumerate(reply.calls)]
    if "interleaved" in shape:
        longest = max((len(f) for f in per_call), default=0)
        order = [f[k] for k in range(longest) for f in per_call if k < len(f)]
    else:
        order = [frag for f in per_call for frag in f]
    for frag in order:
        frames.append(chunk({"tool_calls": [frag]}))
    finish = {"refusal": "stop", "malformed": "stop"}.get(reply.finish_reason, reply.finish_reason)
    frames.append(chunk({}, finish))
    frames.append(sse({
        "id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 1700000000,
        "model": "x", "choices": [],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }))
    frames.append(sse("[DONE]"))
    error = sse({"error": {"message": "The server is overloaded", "type": "server_error",
                           "code": "overloaded"}})
    return Rendered(frames, error, Sent(ids, reply.reasoning))


def _openai_id(n: int, i: int, style: str) -> str:
    if style == "mistral":
        return f"m{n:04d}c{i:03d}"[:9].ljust(9, "0")
    return f"call_{n}_{i}_abc"


def _openai_fragments(call: Call, i: int, call_id: str, shape: frozenset[str]) -> list[dict[str, Any]]:
    index = 0 if "index0" in shape else i
    if "whole" in shape:
        return [{"index": index, "id": call_id, "type": "function",
                 "function": {"name": call.name, "arguments": call.args}}]
    frags: list[dict[str, Any]] = [{"index": index, "id": call_id, "type": "function",
                                    "function": {"name": call.name, "arguments": ""}}]
    for piece in split(call.args, 3):
        fn: dict[str, Any] = {"arguments": piece}
        frag: dict[str, Any] = {"index": index, "function": fn}
        if "repeat" in shape:
            frag.update(id=call_id, type="function")
            fn["name"] = call.name
        frags.append(frag)
        if "empty" in shape:
            frags.append({"index": index, "function": {"arguments": ""}})
    if "trailing" in shape:
        frags.append({"index": index, "function": {"arguments": ""}})
    return frags


# -- Anthropic messages -----------------------------------------------------------------


def anthropic(reply: Reply, n: int) -> Rendered:
    ids = [c.id or f"toolu_{n:02d}{i:02d}abcdef" for i, c in enumerate(reply.calls)]
    frames = [
        sse({"type": "message_start", "message": {
            "id": f"msg_{n}", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 1}}}, "message_start"),
        sse({"type": "ping"}, "ping"),
    ]
    block = 0

    def add_block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        nonlocal block
        frames.append(sse({"type": "content_block_start", "index": block, "content_block": start},
                          "content_block_start"))
        for d in deltas:
            frames.append(sse({"type": "content_block_delta", "index": block, "delta": d},
                              "content_block_delta"))
        frames.append(sse({"type": "content_block_stop", "index": block}, "content_block_stop"))
        block += 1

    if reply.reasoning:
        add_block({"type": "thinking", "thinking": "", "signature": ""},
                  [{"type": "thinking_delta", "thinking": p} for p in split(reply.reasoning, 3)]
                  + [{"type": "signature_delta", "signature": signature(n)}])
    if "empty" in reply.shape:
        add_block({"type": "text", "text": ""}, [])
    if reply.text:
        add_block({"type": "text", "text": ""},
                  [{"type": "text_delta", "text": p} for p in split(reply.text, 3)])
    for call, call_id in zip(reply.calls, ids, strict=True):
        pieces = [call.args] if "whole" in reply.shape else split(call.args, 3)
        deltas = [{"type": "input_json_delta", "partial_json": ""}]  # Claude starts with one
        deltas += [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        if "trailing" in reply.shape:
            deltas.append({"type": "input_json_delta", "partial_json": ""})
        add_block({"type": "tool_use", "id": call_id, "name": call.name, "input": {}}, deltas)
    stop = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens",
            "content_filter": "refusal", "refusal": "refusal", "malformed": "end_turn"}
    frames.append(sse({"type": "message_delta",
                       "delta": {"stop_reason": stop[reply.finish_reason], "stop_sequence": None},
                       "usage": {"output_tokens": 20}}, "message_delta"))
    frames.append(sse({"type": "message_stop"}, "message_stop"))
    error = sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                "error")
    signed = signature(n) if reply.reasoning else ""
    return Rendered(frames, error, Sent(ids, reply.reasoning, signed))


# -- Gemini -----------------------------------------------------------------------------


def gemini(reply: Reply, n: int) -> Rendered:
    finish = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS",
              "content_filter": "SAFETY", "refusal": "SAFETY",
              "malformed": "MALFORMED_FUNCTION_CALL"}[reply.finish_reason]

    def chunk(parts: list[dict[str, Any]], last: bool = False) -> bytes:
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        data: dict[str, Any] = {"candidates": [cand], "modelVersion": "gemini-x"}
        if last:
            cand["finishReason"] = finish
            data["usageMetadata"] = {"promptTokenCount": 100, "candidatesTokenCount": 20,
                                     "totalTokenCount": 120}
        return sse(data)

    frames = []
    for piece in split(reply.reasoning, 2):
        frames.append(chunk([{"text": piece, "thought": True}]))
    for piece in split(reply.text, 3):
        frames.append(chunk([{"text": piece}]))
    if "empty" in reply.shape:
        frames.append(chunk([{"text": ""}]))
    parts = []
    if reply.finish_reason != "malformed":
        for i, call in enumerate(reply.calls):
            part: dict[str, Any] = {"functionCall": {"name": call.name, "args": json.loads(call.args)}}
            if i == 0 and reply.reasoning:
                part["thoughtSignature"] = signature(n)
            parts.append(part)
    if "whole" in reply.shape or not parts:
        frames.append(chunk(parts, last=True) if parts else chunk([], last=True))
    else:
        frames += [chunk([p]) for p in parts]
        frames.append(chunk([], last=True))
    error = sse({"error": {"code": 503, "message": "The model is overloaded.",
                           "status": "UNAVAILABLE"}})
    signed = signature(n) if reply.reasoning and parts else ""
    return Rendered(frames, error, Sent([], reply.reasoning, signed))


# -- Ollama -----------------------------------------------------------------------------


def ollama(reply: Reply, n: int) -> Rendered:
    def line(message: dict[str, Any], done: bool = False, **extra: Any) -> bytes:
        data = {"model": "x", "created_at": "2025-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": "", **message}, "done": done, **extra}
        return (json.dumps(data) + "\n").encode()

    frames = [line({"thinking": p}) for p in split(reply.reasoning, 2)]
    frames += [line({"content": p}) for p in split(reply.text, 3)]
    if "empty" in reply.shape:
        frames.append(line({}))
    calls = [{"function": {"name": c.name, "arguments": json.loads(c.args)}} for c in reply.calls]
    if calls:
        if "whole" in reply.shape:
            frames.append(line({"tool_calls": calls}))
        else:
            frames += [line({"tool_calls": [c]}) for c in calls]
    done_reason = "length" if reply.finish_reason == "length" else "stop"
    frames.append(line({}, True, done_reason=done_reason, prompt_eval_count=100, eval_count=20,
                       total_duration=1000))
    error = (json.dumps({"error": "model runner has unexpectedly stopped"}) + "\n").encode()
    return Rendered(frames, error, Sent([], reply.reasoning), "application/x-ndjson")
