"""The conversation as a provider accepts it.

The agent records the conversation as it happened; before each request it is rewritten
into a form that every provider litellm speaks accepts (OpenAI, Azure, Anthropic,
Gemini / Vertex, Bedrock, Mistral, DeepSeek, Ollama, OpenAI-compatible servers):

- tool call ids are 9 letters and digits (Mistral's rule, which every other provider
  accepts) and unique over the whole conversation, resumed sessions included; an id
  that does not fit is replaced by a stable digest of it, so the same history always
  gives the same request (and a provider's prompt cache keeps working);
- no empty message: an assistant message with neither text nor calls is left out, a
  tool result without output says so;
- arguments are a JSON object, never the invalid text a model may have streamed;
- every call has its tool message right after it, and no user message follows a tool
  message directly (Mistral rejects that order): a short assistant message goes between;
- reasoning goes back to the providers that need it (DeepSeek's ``reasoning_content``,
  Anthropic's signed thinking blocks, Gemini's thought signatures) and to no other.

The rewrite is a pure function of the messages and the model string.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

#: Call ids of the synthetic ``await_futures`` calls; ids of older versions started "deliver_".
DELIVERY_ID_PREFIX = "dlv"
OLD_DELIVERY_ID_PREFIX = "deliver_"
PORTABLE_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
#: Between a tool message and a user message, for providers that reject that order.
BRIDGE = "(tool results received)"
NO_OUTPUT = "(no output)"
NOT_RUN = "not run: the call has no result"

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Providers that take reasoning back as ``reasoning_content`` (litellm maps it for Ollama).
_REASONING = frozenset({"deepseek", "ollama", "ollama_chat", "hosted_vllm", "openrouter",
                        "lm_studio", "xai", "moonshot", "fireworks_ai", "together_ai"})
#: Providers that take Claude's thinking blocks back.
_THINKING = frozenset({"anthropic", "bedrock", "vertex_ai", "vertex_ai_beta"})
#: Providers whose calls carry fields of their own (Gemini's thought signatures).
_CALL_FIELDS = frozenset({"gemini", "vertex_ai", "vertex_ai_beta"})


def provider_of(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else "openai"


def is_delivery_id(call_id: str) -> bool:
    return call_id.startswith((DELIVERY_ID_PREFIX, OLD_DELIVERY_ID_PREFIX))


def delivery_id(n: int) -> str:
    return f"{DELIVERY_ID_PREFIX}{n:06d}"


def next_delivery(messages: list[dict[str, Any]]) -> int:
    """The number of the next delivery: past every one in the conversation, including
    those of an earlier process, and never reusing one of a delivery still in it when
    older ones were compacted away."""
    last = 0
    for m in messages:
        for c in m.get("tool_calls") or [] if m.get("role") == "assistant" else []:
            cid = str(c.get("id", ""))
            digits = cid.removeprefix(OLD_DELIVERY_ID_PREFIX).removeprefix(DELIVERY_ID_PREFIX)
            if is_delivery_id(cid) and digits.isdigit():
                last = max(last, int(digits))
    return last + 1


def _digest(text: str, length: int) -> str:
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:12], "big")
    out = []
    for _ in range(length):
        value, k = divmod(value, len(_ALPHABET))
        out.append(_ALPHABET[k])
    return "".join(out)


class _Ids:
    """Portable, unique ids, the same for the same history."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.seen: dict[str, int] = {}

    def new(self, old: str) -> str:
        k = self.seen.get(old, 0)
        self.seen[old] = k + 1
        if k == 0 and PORTABLE_ID.match(old) and old not in self.used:
            self.used.add(old)
            return old
        head = DELIVERY_ID_PREFIX if is_delivery_id(old) else "c"
        while True:
            candidate = head + _digest(f"{old}#{k}", 9 - len(head))
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate
            k += 1


def _arguments(text: Any) -> str:
    if isinstance(text, dict):
        return json.dumps(text)
    try:
        return str(text) if isinstance(json.loads(str(text)), dict) else "{}"
    except ValueError:
        return "{}"


def _blank(content: Any) -> bool:
    if content is None:
        return True
    if isinstance(content, str):
        return not content.strip()
    if isinstance(content, list):
        return all(isinstance(p, dict) and p.get("type") == "text" and not str(p.get("text", "")).strip()
                   for p in content)
    return False


def _assistant(m: dict[str, Any], provider: str, ids: _Ids) -> tuple[dict[str, Any] | None, dict[str, str]]:
    out = {k: v for k, v in m.items() if k not in ("reasoning_content", "thinking_blocks", "tool_calls")}
    if m.get("reasoning_content") and provider in _REASONING:
        out["reasoning_content"] = m["reasoning_content"]
    if m.get("thinking_blocks") and provider in _THINKING:
        out["thinking_blocks"] = m["thinking_blocks"]
    mapping: dict[str, str] = {}
    calls = []
    for c in m.get("tool_calls") or []:
        fn = c.get("function") or {}
        if not fn.get("name"):
            continue  # a fragment taken for a call: nothing ran, nothing to answer
        new = ids.new(str(c.get("id") or ""))
        mapping[str(c.get("id") or "")] = new
        call = {"id": new, "type": "function",
                "function": {"name": fn["name"], "arguments": _arguments(fn.get("arguments"))}}
        if c.get("provider_specific_fields") and provider in _CALL_FIELDS:
            call["provider_specific_fields"] = c["provider_specific_fields"]
        calls.append(call)
    if calls:
        out["tool_calls"] = calls
        if _blank(out.get("content")):
            out["content"] = None
    elif _blank(out.get("content")):
        return None, mapping
    return out, mapping


def for_request(messages: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    """``messages`` rewritten into a form every provider accepts (see the module's doc)."""
    provider = provider_of(model)
    ids = _Ids()
    out: list[dict[str, Any]] = []
    open_calls: dict[str, str] = {}  # old id -> new id, calls still waiting for a result
    answered: set[str] = set()

    def close_calls() -> None:
        for new in open_calls.values():
            if new not in answered:
                out.append({"role": "tool", "tool_call_id": new, "content": NOT_RUN})
        open_calls.clear()

    for m in messages:
        role = m.get("role")
        if role == "tool":
            new = open_calls.get(str(m.get("tool_call_id")))
            if new is None or new in answered:
                continue  # answers no call of the message before it: no provider takes it
            answered.add(new)
            content = m.get("content")
            out.append({**m, "tool_call_id": new,
                        "content": NO_OUTPUT if _blank(content) else content})
            continue
        close_calls()
        if role == "assistant":
            message, mapping = _assistant(m, provider, ids)
            if message is None:
                continue
            out.append(message)
            open_calls.update(mapping)
            answered.clear()
        elif role in ("user", "system") and _blank(m.get("content")):
            continue
        else:
            if role == "user" and out and out[-1].get("role") == "tool":
                out.append({"role": "assistant", "content": BRIDGE})
            out.append(m)
    close_calls()
    return out
