"""Each provider's rules for a request, as its API enforces them (a 400 in real life).

A rule broken is a violation, recorded by the server; the request is still answered, so a
test sees every violation of a run, not only the first. Besides each provider's own rules,
every request is held to the rules that make a conversation portable between them: tool
call ids unique over the whole conversation, arguments that are a JSON object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from wire.formats import Sent

Rule = Callable[[dict[str, Any], list[Sent]], list[str]]

MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
OPENAI_MESSAGE_KEYS = {
    "system": {"role", "content", "name"},
    "developer": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "tool_calls", "refusal", "audio", "function_call"},
    "tool": {"role", "content", "tool_call_id", "name"},
}


def _json_object(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _unique(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    dup = []
    for i in ids:
        if i in seen:
            dup.append(i)
        seen.add(i)
    return [f"tool call id {i!r} used twice in the conversation" for i in dup]


# -- OpenAI chat completions and its relatives ----------------------------------------


def openai_chat(body: dict[str, Any], sent: list[Sent], *, strict_keys: bool = True) -> list[str]:
    out: list[str] = []
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["messages must be a non-empty list"]
    open_ids: list[str] = []
    ids: list[str] = []
    for k, m in enumerate(messages):
        role = m.get("role")
        where = f"messages[{k}] ({role})"
        if role not in OPENAI_MESSAGE_KEYS:
            out.append(f"{where}: unknown role")
            continue
        if strict_keys and (extra := set(m) - OPENAI_MESSAGE_KEYS[role]):
            out.append(f"{where}: unknown keys {sorted(extra)}")
        if open_ids and role != "tool":
            out.append(f"{where}: tool calls {open_ids} have no tool message before it")
            open_ids = []
        content = m.get("content")
        if role == "assistant":
            calls = m.get("tool_calls") or []
            if not calls and (content is None or content == "" or content == []):
                out.append(f"{where}: no content and no tool_calls")
            for c in calls:
                fn = c.get("function") or {}
                if not fn.get("name"):
                    out.append(f"{where}: tool call without a function name")
                if not _json_object(fn.get("arguments")):
                    out.append(f"{where}: arguments {fn.get('arguments')!r} are not a JSON object")
                if not c.get("id"):
                    out.append(f"{where}: tool call without an id")
                ids.append(c.get("id"))
            open_ids = [c.get("id") for c in calls]
        elif role == "tool":
            if m.get("tool_call_id") not in open_ids:
                out.append(f"{where}: tool_call_id {m.get('tool_call_id')!r} answers no open call")
            else:
                open_ids.remove(m["tool_call_id"])
            if not isinstance(content, str):
                out.append(f"{where}: content must be a string")
        elif content is None or content == "":
            out.append(f"{where}: empty content")
    return out + _unique(ids)


def openai_compatible(body: dict[str, Any], sent: list[Sent]) -> list[str]:
    """vLLM, SGLang, llama.cpp: OpenAI's rules, extra keys (reasoning) ignored."""
    return openai_chat(body, sent, strict_keys=False)


def mistral(body: dict[str, Any], sent: list[Sent]) -> list[str]:
    out = openai_chat(body, sent, strict_keys=False)
    messages = body["messages"]
    for k, m in enumerate(messages):
        for c in m.get("tool_calls") or []:
            if not MISTRAL_ID.match(str(c.get("id"))):
                out.append(f"messages[{k}]: tool call id {c.get('id')!r} is not 9 characters a-z, A-Z, 0-9")
        if m.get("role") == "tool" and not MISTRAL_ID.match(str(m.get("tool_call_id"))):
            out.append(f"messages[{k}]: tool_call_id {m.get('tool_call_id')!r} is not 9 characters a-z, A-Z, 0-9")
        if k and m.get("role") == "user" and messages[k - 1].get("role") == "tool":
            out.append(f"messages[{k}]: Unexpected role 'user' after role 'tool'")
    return out


def deepseek(body: dict[str, Any], sent: list[Sent]) -> list[str]:
    """Thinking mode: an assistant message whose calls came with reasoning carries it back."""
    out = openai_chat(body, sent, strict_keys=False)
    carried = {str(m.get("reasoning_content") or "").strip() for m in body["messages"]
               if m.get("role") == "assistant" and m.get("tool_calls")}
    out += [f"The reasoning_content in the thinking mode must be passed back to the API "
            f"(lost: {s.reasoning!r})" for s in sent
            if s.reasoning and s.call_ids and s.reasoning.strip() not in carried]
    return out


# -- Anthropic messages -----------------------------------------------------------------


def anthropic(body: dict[str, Any], sent: list[Sent]) -> list[str]:
    out: list[str] = []
    if not isinstance(body.get("max_tokens"), int):
        out.append("max_tokens is required")
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        out.append("the first message must be the user's")
    ids: list[str] = []
    kept = {b.get("signature") for m in messages if m.get("role") == "assistant"
            for b in m.get("content") or [] if isinstance(b, dict) and b.get("type") == "thinking"}
    out += [f"a thinking block with signature {s.signature!r} was dropped (with thinking on, the "
            "blocks of a tool-use turn must be passed back)" for s in sent
            if s.signature and s.call_ids and s.signature not in kept]
    for k, m in enumerate(messages):
        where = f"messages.{k}"
        if k and m.get("role") == messages[k - 1].get("role"):
            out.append(f"{where}: roles must alternate between user and assistant")
        blocks = m.get("content")
        if isinstance(blocks, str):
            blocks = [{"type": "text", "text": blocks}]
        if not blocks:
            out.append(f"{where}: all messages must have non-empty content")
            continue
        for b in blocks:
            if b.get("type") == "text" and not str(b.get("text", "")).strip():
                out.append(f"{where}: text content blocks must contain non-whitespace text")
            if b.get("type") == "thinking" and b is not blocks[0]:
                out.append(f"{where}: a thinking block must come first in its message")
            if b.get("type") == "tool_use":
                ids.append(b.get("id"))
                if not ANTHROPIC_ID.match(str(b.get("id"))):
                    out.append(f"{where}: tool_use.id {b.get('id')!r} does not match ^[a-zA-Z0-9_-]+$")
                if not isinstance(b.get("input"), dict):
                    out.append(f"{where}: tool_use.input must be an object")
        uses = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
        if uses:
            nxt = messages[k + 1] if k + 1 < len(messages) else None
            results = [b.get("tool_use_id") for b in (nxt or {}).get("content") or []
                       if isinstance(b, dict) and b.get("type") == "tool_result"]
            if nxt is not None and sorted(map(str, results)) != sorted(map(str, uses)):
                out.append(f"{where}: tool_use ids {uses} must each have a tool_result in the next "
                           f"message (got {results})")
        if m.get("role") == "user" and k:
            prev = messages[k - 1].get("content") or []
            used = {b.get("id") for b in prev if isinstance(b, dict) and b.get("type") == "tool_use"}
            for b in blocks:
                if b.get("type") == "tool_result" and b.get("tool_use_id") not in used:
                    out.append(f"{where}: tool_result {b.get('tool_use_id')!r} has no tool_use "
                               "in the previous message")
    return out + _unique(ids)


# -- Gemini -----------------------------------------------------------------------------


def gemini(body: dict[str, Any], sent: list[Sent]) -> list[str]:
    out: list[str] = []
    contents = body.get("contents") or []
    if not contents:
        return ["contents must not be empty"]
    carried = {p.get("thoughtSignature") for c in contents for p in c.get("parts") or []
               if "function_call" in p}
    out += [f"the function call of a response lost its thought_signature {s.signature!r}"
            for s in sent if s.signature and s.signature not in carried]
    for k, c in enumerate(contents):
        where = f"contents[{k}]"
        if c.get("role") not in ("user", "model"):
            out.append(f"{where}: role must be user or model")
        parts = c.get("parts") or []
        if not parts:
            out.append(f"{where}: must contain at least one part")
        calls = [p["function_call"] for p in parts if "function_call" in p]
        for p in parts:
            data = [key for key in ("text", "function_call", "function_response", "inline_data",
                                    "file_data") if key in p]
            if len(data) != 1:
                out.append(f"{where}: a part must hold exactly one kind of data (got {data})")
            if "text" in p and p["text"] == "" and not p.get("thought"):
                out.append(f"{where}: empty text part")
        for call in calls:
            if not isinstance(call.get("args"), dict):
                out.append(f"{where}: function_call.args must be an object")
        if calls:
            nxt = contents[k + 1] if k + 1 < len(contents) else None
            answers = [p["function_response"] for p in (nxt or {}).get("parts") or []
                       if "function_response" in p]
            if nxt is not None and len(answers) != len(calls):
                out.append(f"{where}: the number of function response parts ({len(answers)}) must "
                           f"equal the number of function call parts ({len(calls)})")
    return out


# -- Ollama -----------------------------------------------------------------------------


def ollama(body: dict[str, Any], sent: list[Sent]) -> list[str]:
    out: list[str] = []
    for k, m in enumerate(body.get("messages") or []):
        if m.get("role") not in ("system", "user", "assistant", "tool"):
            out.append(f"messages[{k}]: unknown role")
        if not isinstance(m.get("content", ""), str):
            out.append(f"messages[{k}]: content must be a string")
        for c in m.get("tool_calls") or []:
            if not isinstance((c.get("function") or {}).get("arguments"), dict):
                out.append(f"messages[{k}]: json: cannot unmarshal string into Go struct field "
                           ".tool_calls.function.arguments")
        if m.get("role") == "assistant" and not m.get("content") and not m.get("tool_calls"):
            out.append(f"messages[{k}]: assistant message with no content and no tool calls")
    return out


RULES: dict[str, Rule] = {
    "openai": openai_chat, "compat": openai_compatible, "mistral": mistral,
    "deepseek": deepseek, "anthropic": anthropic, "gemini": gemini, "ollama": ollama,
}
