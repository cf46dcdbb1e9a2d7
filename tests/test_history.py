"""The conversation is rewritten into a form every provider accepts, the same way every time."""

from __future__ import annotations

import json
import re
from typing import Any

from asyncfc_agent.agent import history


def call(cid: str, name: str = "grep", args: str = '{"pattern": "a"}') -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}


def assistant(*calls: dict[str, Any], content: str | None = None, **extra: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content, **extra}
    if calls:
        msg["tool_calls"] = list(calls)
    return msg


def tool(cid: str, content: str = "result") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": cid, "name": "grep", "content": content}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def ids_of(messages: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for m in messages for c in m.get("tool_calls") or []]


def test_ids_of_a_resumed_session_are_unique_and_fit_every_provider() -> None:
    # two processes each numbered their deliveries from 1, and a provider gave long ids
    messages = [
        user("task"), assistant(call("call_abc_0123456789")), tool("call_abc_0123456789"),
        assistant(call("deliver_1", "await_futures", "{}")), tool("deliver_1"),
        user("resumed"), assistant(call("deliver_1", "await_futures", "{}")), tool("deliver_1"),
        assistant(call("abcDEF123")), tool("abcDEF123"),
    ]
    out = history.for_request(messages, "mistral/x")
    ids = ids_of(out)
    assert len(ids) == len(set(ids)) == 4
    assert all(re.fullmatch(r"[a-zA-Z0-9]{9}", i) for i in ids)
    assert ids[3] == "abcDEF123"  # an id that fits is kept
    assert all(history.is_delivery_id(i) for i in ids[1:3])
    answered = [m["tool_call_id"] for m in out if m["role"] == "tool"]
    assert answered == ids
    assert history.for_request(messages, "mistral/x") == out  # stable: prompt caches hold


def test_invalid_arguments_are_never_sent_back() -> None:
    messages = [user("t"), assistant(call("a", args='{"path": calc.py}'), call("b", args='{"pattern": "de')),
                tool("a"), tool("b")]
    out = history.for_request(messages, "anthropic/claude-x")
    assert [c["function"]["arguments"] for c in out[1]["tool_calls"]] == ["{}", "{}"]


def test_empty_messages_are_left_out_or_filled() -> None:
    messages = [user("t"), assistant(content=""), user("again"), assistant(call("abcdefghi")),
                tool("abcdefghi", ""), assistant(content="done")]
    out = history.for_request(messages, "openai/x")
    assert [m["role"] for m in out] == ["user", "user", "assistant", "tool", "assistant"]
    assert out[3]["content"] == history.NO_OUTPUT
    assert out[2]["content"] is None


def test_a_user_message_never_follows_a_tool_message() -> None:
    messages = [user("t"), assistant(call("abcdefghi")), tool("abcdefghi"), user("more")]
    out = history.for_request(messages, "mistral/x")
    assert [m["role"] for m in out] == ["user", "assistant", "tool", "assistant", "user"]
    assert out[3]["content"] == history.BRIDGE


def test_calls_without_a_result_get_one_and_stray_results_go() -> None:
    messages = [user("t"), assistant(call("abcdefghi"), call("bcdefghij")), tool("bcdefghij"),
                tool("zzzzzzzzz"), user("next")]
    out = history.for_request(messages, "openai/x")
    results = [(m["tool_call_id"], m["content"]) for m in out if m["role"] == "tool"]
    assert results == [("bcdefghij", "result"), ("abcdefghi", history.NOT_RUN)]


def test_nameless_calls_are_dropped_with_their_results() -> None:
    messages = [user("t"), assistant(call("abcdefghi", name="")), tool("abcdefghi"), user("next")]
    out = history.for_request(messages, "openai/x")
    assert [m["role"] for m in out] == ["user", "user"]


def test_reasoning_goes_back_only_to_providers_that_take_it() -> None:
    blocks = [{"type": "thinking", "thinking": "hm", "signature": "sig"}]
    signed = {**call("abcdefghi"), "provider_specific_fields": {"thought_signature": "ts"}}
    messages = [user("t"), assistant(signed, reasoning_content="hm", thinking_blocks=blocks),
                tool("abcdefghi")]
    keys = {model: set(history.for_request(messages, model)[1]) for model in
            ("openai/x", "deepseek/x", "anthropic/claude-x", "gemini/x", "mistral/x")}
    assert "reasoning_content" in keys["deepseek/x"] and "thinking_blocks" not in keys["deepseek/x"]
    assert "thinking_blocks" in keys["anthropic/claude-x"]
    assert keys["openai/x"] == keys["mistral/x"] == {"role", "content", "tool_calls"}
    gemini_call = history.for_request(messages, "gemini/x")[1]["tool_calls"][0]
    openai_call = history.for_request(messages, "openai/x")[1]["tool_calls"][0]
    assert gemini_call["provider_specific_fields"] == {"thought_signature": "ts"}
    assert "provider_specific_fields" not in openai_call
    assert json.loads(openai_call["function"]["arguments"]) == {"pattern": "a"}


def test_the_recorded_conversation_is_not_changed() -> None:
    messages = [user("t"), assistant(call("deliver_1", args="{bad")), tool("deliver_1"), user("x")]
    before = json.dumps(messages)
    history.for_request(messages, "mistral/x")
    assert json.dumps(messages) == before


def test_deliveries_are_numbered_past_every_one_in_the_conversation() -> None:
    assert history.next_delivery([user("t")]) == 1
    resumed = [assistant(call("deliver_4", "await_futures", "{}")), tool("deliver_4")]
    assert history.next_delivery(resumed) == 5
    # older deliveries compacted away: the number still goes past the newest one left
    compacted = [user("[context summary: 3 earlier responses]"),
                 assistant(call(history.delivery_id(7), "await_futures", "{}")),
                 tool(history.delivery_id(7)), assistant(call("abcdefghi")), tool("abcdefghi")]
    assert history.next_delivery(compacted) == 8
