"""The token budget and the compaction of a history: sizes, validity for every provider,
the facts and the ids of running futures kept, counted with litellm's real tokenizer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asyncfc_agent.agent import protocol
from asyncfc_agent.agent.caching import cache_usage, takes_cache_control, with_breakpoints
from asyncfc_agent.agent.context import (
    Budget,
    ContextKeeper,
    TokenCounter,
    brief,
    budget_for,
)
from asyncfc_agent.agent.history import delivery_id
from asyncfc_agent.agent.model import litellm_module

SYSTEM = {"role": "system", "content": "You are an engineer. " * 20}
TASK = {"role": "user", "content": "Fix the parser: dates with a trailing Z are rejected."}


def result(fid: str, exit_code: int, lines: int, failure: str | None = None) -> str:
    body = [f"line {i} of the output of {fid}: nothing to see here, keep going" for i in range(lines)]
    if failure:
        body[lines // 2] = failure
    return f"[{fid} run: resolved, exit {exit_code}, 1.2 s, ran on rev 3]\n" + "\n".join(body)


def response(k: int, content: str, fid: str = "") -> list[dict[str, Any]]:
    call_id = f"call_{k}_0"
    return [
        {"role": "assistant", "content": f"Step {k}.", "tool_calls": [{
            "id": call_id, "type": "function",
            "function": {"name": "run", "arguments": json.dumps({"command": f"step {k}"})}}]},
        protocol.tool_message(call_id, "run", content),
    ]


def history(steps: int = 12) -> list[dict[str, Any]]:
    messages = [dict(SYSTEM), dict(TASK)]
    for k in range(steps):
        if k == 2:  # a slow future: only its handle is in the history
            handle = json.dumps({"future": "f3", "status": "running", "tool": "run_tests"})
            messages += response(k, handle)
        elif k == 4:
            messages += response(k, result("f5", 1, 80, "FAILED tests/test_dates.py::test_z - ValueError"))
        else:
            messages += response(k, result(f"f{k + 1}", 0, 80))
    messages += [protocol.delivery_call(["f2"], 1),
                 protocol.tool_message(delivery_id(1), protocol.AWAIT, result("f2", 0, 5))]
    messages += response(steps, "short")
    return messages


def turn_index(messages: list[dict[str, Any]]) -> int:
    """The response the scripted model gives next (its module imports litellm: not at
    collection)."""
    from asyncfc_agent.agent.scripted import turn_index

    return int(turn_index(messages))


def assert_valid(messages: list[dict[str, Any]]) -> None:
    """What every provider requires of a history: the system prompt first, content in
    every user message, each call answered by a tool message right after its assistant
    message, no tool message without its call, no request ending on an assistant call."""
    assert messages[0]["role"] == "system"
    open_calls: set[str] = set()
    for m in messages[1:]:
        if m["role"] == "tool":
            assert m["tool_call_id"] in open_calls, f"orphan tool message {m['tool_call_id']}"
            open_calls.discard(m["tool_call_id"])
            continue
        assert not open_calls, f"calls {open_calls} not answered before a {m['role']} message"
        if m["role"] == "user":
            assert str(m["content"]).strip()
        if m["role"] == "assistant":
            open_calls = {c["id"] for c in m.get("tool_calls") or []}
            assert m.get("content") or open_calls
    assert not open_calls


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter("gpt-4o", litellm_module())


def whole_size(messages: list[dict[str, Any]]) -> int:
    """The size litellm gives the whole request at once (not our per-message cache)."""
    return int(litellm_module().token_counter(model="gpt-4o", messages=messages))


def test_budget_from_config_litellm_or_default() -> None:
    litellm = litellm_module()
    assert budget_for("openai/x", context_window=4096, litellm=litellm) == Budget(4096, 1024, "config")
    assert budget_for("gpt-4o", litellm=litellm) == Budget(128000, 4096, "litellm")
    assert budget_for("openai/a-local-model", litellm=litellm) == Budget(8192, 2048, "default")
    assert budget_for("ollama/llama3", litellm=litellm).window == 8192
    assert budget_for("gpt-4o", response_reserve=1000, litellm=litellm).reserve == 1000
    # the scripted model has no window of its own: compaction only when configured
    assert budget_for("scripted/x.yaml", litellm=litellm).window == 131072
    assert Budget(4096, 1024, "config").limit == int(3072 * 0.9)


def test_brief_keeps_header_first_lines_and_failures() -> None:
    text = result("f5", 1, 80, "FAILED tests/test_dates.py::test_z - ValueError")
    short = brief(text)
    lines = short.splitlines()
    assert lines[0] == "[f5 run: resolved, exit 1, 1.2 s, ran on rev 3]"
    assert lines[1].startswith("line 0 of the output of f5")
    assert "FAILED tests/test_dates.py::test_z - ValueError" in lines
    assert "76 more lines left out" in lines[-1]
    assert len(short) < len(text) / 5
    handle = json.dumps({"future": "f3", "status": "running"})
    assert brief(handle) == handle
    delivery = result("f6", 0, 40) + "\n\n" + result("f7", 2, 40, "error: no such file")
    kept = brief(delivery)
    assert "[f6 run: resolved, exit 0" in kept and "[f7 run: resolved, exit 2" in kept
    assert "error: no such file" in kept


def test_compaction_fits_and_keeps_the_history_valid(counter: TokenCounter) -> None:
    messages = history()
    responses = turn_index(messages)
    before = whole_size(messages)
    keeper = ContextKeeper(Budget(5000, 1000, "config"), counter)
    assert before > 2 * keeper.limit
    done = keeper.fit(messages, [], ["f3 (run_tests, running, 12 s)"])
    assert done is not None and done.summarised > 0
    assert_valid(messages)
    assert whole_size(messages) <= keeper.limit
    # the system prompt and the task are whole; the last responses too
    assert messages[0] == SYSTEM and messages[1] == TASK
    assert messages[-1]["content"] == "short"
    # the scripted model still knows how many responses it gave
    assert turn_index(messages) == responses
    text = json.dumps(messages)
    assert "Still in flight: f3 (run_tests, running, 12 s)" in text
    # the failing result's facts: its exit code and its first failure
    assert "exit 1" in text and "FAILED tests/test_dates.py::test_z" in text
    # a second fit under the budget changes nothing
    assert keeper.fit(messages, [], []) is None


def test_compaction_shortens_before_it_summarises(counter: TokenCounter) -> None:
    messages = history(6)
    keeper = ContextKeeper(Budget(8000, 1000, "config"), counter)
    size = whole_size(messages)
    assert size > keeper.limit
    done = keeper.fit(messages, [], [])
    assert done is not None and done.shortened > 0 and done.summarised == 0
    assert_valid(messages)
    assert len(messages) == len(history(6))


def test_a_second_compaction_carries_the_first_summary(counter: TokenCounter) -> None:
    messages = history(8)
    keeper = ContextKeeper(Budget(4000, 1000, "config"), counter)
    keeper.fit(messages, [], [])
    for k in range(20, 30):
        messages += response(k, result(f"f{k}", 0, 60))
    done = keeper.fit(messages, [], [])
    assert done is not None
    assert_valid(messages)
    summaries = [m for m in messages if str(m["content"]).startswith(protocol.SUMMARY_MARK)]
    assert len(summaries) == 1
    assert turn_index(messages) == 8 + 1 + 10
    assert "step 0" in summaries[0]["content"] or "older lines left out" in summaries[0]["content"]


def test_hard_compaction_after_a_refusal_goes_lower(counter: TokenCounter) -> None:
    messages = history(3)
    keeper = ContextKeeper(Budget(8000, 1000, "config"), counter)
    assert keeper.fit(messages, [], []) is None  # under the budget by our count
    # the provider refused it all the same: its tokenizer counts more than ours, so the
    # limit comes down under our count for good, and the history goes well under it
    keeper.refused(whole_size(messages))
    assert keeper.limit == int(whole_size(messages) * 0.9)
    done = keeper.fit(messages, [], [], hard=True)
    assert done is not None
    assert_valid(messages)
    assert whole_size(messages) <= keeper.limit * 0.4


def test_anthropic_breakpoints_on_the_prefix_and_the_growing_history() -> None:
    messages = history(3)
    marked = with_breakpoints(messages)
    assert messages == history(3)  # the history itself is not changed
    flagged = [i for i, m in enumerate(marked) if "cache_control" in json.dumps(m)]
    # the system prompt, the end of the previous request, the end of this one
    assert flagged == [0, len(messages) - 3, len(messages) - 1]
    assert marked[0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert marked[-1]["cache_control"] == {"type": "ephemeral"}  # a tool result
    assert len(flagged) <= 4


@pytest.mark.parametrize(("model", "takes"), [
    ("anthropic/claude-sonnet-4-5", True),
    ("claude-3-5-haiku-20241022", True),
    ("bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0", True),
    ("bedrock/amazon.nova-pro-v1:0", False),
    ("vertex_ai/claude-3-5-sonnet@20240620", True),
    ("vertex_ai/gemini-2.0-flash", False),
    ("openai/gpt-4.1", False),
    ("ollama_chat/qwen3", False),
])
def test_which_providers_take_cache_control(model: str, takes: bool) -> None:
    assert takes_cache_control(model) is takes


def test_cache_usage_from_anthropic_and_openai_fields() -> None:
    from litellm.types.utils import PromptTokensDetailsWrapper, Usage

    anthropic = Usage(prompt_tokens=1200, completion_tokens=10, total_tokens=1210,
                      cache_read_input_tokens=800, cache_creation_input_tokens=300)
    assert cache_usage(anthropic) == (800, 300)
    openai = Usage(prompt_tokens=1200, completion_tokens=10, total_tokens=1210,
                   prompt_tokens_details=PromptTokensDetailsWrapper(cached_tokens=1024))
    assert cache_usage(openai) == (1024, 0)
    assert cache_usage(None) == (0, 0)


def test_a_task_too_long_for_the_window_is_cut_when_nothing_else_is_left(
    counter: TokenCounter,
) -> None:
    task = {"role": "user", "content": "Here is the log:\n" + "ERROR something failed here\n" * 3000}
    messages = [dict(SYSTEM), task, *response(0, "short")]
    keeper = ContextKeeper(Budget(4000, 1000, "config"), counter)
    done = keeper.fit(messages, [], [])
    assert done is not None
    assert_valid(messages)
    assert whole_size(messages) <= keeper.limit
    assert messages[1]["content"].startswith("Here is the log:\nERROR something failed here\n")
    assert "characters of this message were left out to fit the context window" in messages[1]["content"]
