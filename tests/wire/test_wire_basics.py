"""The wire servers themselves, and a clean run against each provider's format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import make_repo
from wire.replies import Call, Reply
from wire.runs import quick_script, solve_here
from wire.server import PROVIDERS, WireServer


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_clean_run_fixes_add_and_sends_only_valid_requests(provider: str, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with WireServer(provider, quick_script()) as server:
        run = solve_here(server, repo, tmp_path / "out")
    assert run.code in (0, 1), run.output
    assert run.reason == "submitted", run.output
    assert "Traceback" not in run.output
    assert len(server.requests) == 3
    assert server.violations == []
    assert run.result["futures"][2]["tool"] == "edit_file"


def test_the_rules_catch_what_providers_reject() -> None:
    from wire.rules import RULES

    bad_openai = {"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None},
        {"role": "assistant", "tool_calls": [
            {"id": "deliver_1", "type": "function", "function": {"name": "f", "arguments": '{"a": '}}]},
        {"role": "tool", "tool_call_id": "deliver_1", "content": "r"},
        {"role": "user", "content": "more"},
    ]}
    found = RULES["mistral"](bad_openai, [])
    assert any("no content and no tool_calls" in v for v in found)
    assert any("not a JSON object" in v for v in found)
    assert any("not 9 characters" in v for v in found)
    assert any("'user' after role 'tool'" in v for v in found)
    bad_anthropic = {"max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "r"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "text", "text": " "}]},
    ]}
    found = RULES["anthropic"](bad_anthropic, [])
    assert any("used twice" in v for v in found)
    assert any("must each have a tool_result" in v for v in found)
    assert any("non-whitespace text" in v for v in found)


def test_a_server_records_each_request_and_plays_its_script_in_order(tmp_path: Path) -> None:
    import httpx

    replies = [Reply(status=429, retry_after="0"), Reply(text="hello", calls=[Call.of("f", a=1)])]
    with WireServer("openai", replies) as server:
        body = {"model": "x", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        first = httpx.post(server.base_url + "/chat/completions", json=body)
        second = httpx.post(server.base_url + "/chat/completions", json=body)
    assert first.status_code == 429 and first.headers["retry-after"] == "0"
    assert second.status_code == 200
    events = [line.removeprefix("data: ") for line in second.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    deltas = [c["delta"] for e in events[:-1] for c in json.loads(e)["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "hello"
    assert next(d["tool_calls"][0]["function"]["name"] for d in deltas if "tool_calls" in d) == "f"
    assert [r.path for r in server.requests] == ["/chat/completions"] * 2
    assert server.violations == []
