"""What a request carries for the provider's caches and context size.

Anthropic models (direct, on Bedrock, on Vertex) cache a prompt prefix only where the
request marks it: a breakpoint on the system prompt caches the tools and the system
prompt (the tools come first in Anthropic's order), and breakpoints on the end of the
history cache the conversation, which only grows, so the next request reads it back.
Ollama cuts a conversation to its own small default context unless told the size.
"""

from __future__ import annotations

import copy
from typing import Any

from .protocol import is_delivery

EPHEMERAL = {"type": "ephemeral"}
#: Anthropic takes four breakpoints; the system prompt and the end of the last two
#: requests use three, so one is left for whoever adds one.
HISTORY_BREAKPOINTS = 2


def provider_of(model: str) -> str:
    """The provider part of a litellm model string (what comes before the first slash)."""
    return model.split("/", 1)[0] if "/" in model else ""


def takes_cache_control(model: str) -> bool:
    """Whether the model's provider honours ``cache_control`` breakpoints."""
    provider, name = provider_of(model), model.lower()
    if provider == "anthropic" or (not provider and name.startswith("claude")):
        return True
    if provider in ("bedrock", "bedrock_converse"):
        return "anthropic" in name or "claude" in name
    if provider in ("vertex_ai", "vertex_ai_beta"):
        return "claude" in name
    return False


def is_ollama(model: str) -> bool:
    return provider_of(model) in ("ollama", "ollama_chat")


def with_breakpoints(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``messages`` with cache breakpoints on the system prompt and on the last
    message of each of the last two requests (the history the next request repeats)."""
    marked = list(messages)
    targets = [i for i, m in enumerate(marked[:1]) if m.get("role") == "system"]
    ends = _request_ends(marked)[-HISTORY_BREAKPOINTS:]
    for i in [*targets, *ends]:
        marked[i] = _mark(marked[i])
    return marked


def _request_ends(messages: list[dict[str, Any]]) -> list[int]:
    """Indices of the last message before each response of the model, and the last one:
    where each request of the conversation ended."""
    ends = [i - 1 for i, m in enumerate(messages) if i >= 1 and m.get("role") == "assistant"
            and not is_delivery(m)]
    if messages and messages[-1].get("role") != "assistant":
        ends.append(len(messages) - 1)
    return [i for i in ends if messages[i].get("role") in ("user", "tool")]


def _mark(message: dict[str, Any]) -> dict[str, Any]:
    message = copy.copy(message)
    content = message.get("content")
    if message.get("role") == "tool" or not content:
        message["cache_control"] = EPHEMERAL  # litellm puts it on the tool_result block
        return message
    if isinstance(content, str):
        message["content"] = [{"type": "text", "text": content, "cache_control": EPHEMERAL}]
    elif isinstance(content, list) and content and isinstance(content[-1], dict):
        blocks = [dict(b) for b in content]
        blocks[-1]["cache_control"] = EPHEMERAL
        message["content"] = blocks
    return message


def cache_usage(usage: Any) -> tuple[int, int]:
    """Tokens read from and written to the provider's prompt cache, from litellm's usage
    (Anthropic's fields, or OpenAI's ``prompt_tokens_details.cached_tokens``)."""
    if usage is None:
        return 0, 0
    read = getattr(usage, "cache_read_input_tokens", None)
    if not read:
        details = getattr(usage, "prompt_tokens_details", None)
        read = getattr(details, "cached_tokens", None) if details is not None else None
    write = getattr(usage, "cache_creation_input_tokens", None)
    return int(read or 0), int(write or 0)
