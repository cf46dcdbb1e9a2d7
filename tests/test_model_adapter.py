"""The model adapter against a local server speaking a provider's wire format, through
litellm and ``solve``: retries and their backoff, a refused key, cost accounting and its
limit, and the tool schemas each request carries."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support import make_repo
from wire.replies import Reply
from wire.runs import Run, quick_script, solve_here
from wire.server import WireServer

#: A model with a price in litellm's cost map, served by the local server.
PRICED = "openai/gpt-4o"
#: What every reply of the server reports it used.
PROMPT_TOKENS, COMPLETION_TOKENS = 100, 20
#: The tools a solve run offers, as the README lists them.
TOOLS = ["read_file", "list_files", "grep", "edit_file", "write_file", "run", "run_tests", "build",
         "outline", "find_symbol", "repo_map", "await_futures", "cancel_future"]


class TimedServer(WireServer):  # type: ignore[misc]  # Any where mypy does not find it
    """A wire server that also notes when each request came in."""

    def __init__(self, provider: str, replies: list[Reply]) -> None:
        super().__init__(provider, replies)
        self.arrived: list[float] = []
        self._times = threading.Lock()

    def _take(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Reply]:
        with self._times:
            self.arrived.append(time.monotonic())
        taken: tuple[int, Reply] = super()._take(path, headers, body)
        return taken


def solve(tmp_path: Path, server: WireServer, *extra: str, config: str = "") -> Run:
    cfg = tmp_path / "model.toml"
    cfg.write_text(f"[model]\n{config}\n")
    return solve_here(server, make_repo(tmp_path), tmp_path / "out", "--config", str(cfg), *extra)


def events(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    lines = (tmp_path / "out" / "trajectory.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["kind"] == kind]


def price_of_a_reply() -> float:
    from asyncfc_agent.agent.model import litellm_module

    prices = litellm_module().model_cost[PRICED.split("/", 1)[1]]
    return float(PROMPT_TOKENS * prices["input_cost_per_token"]
                 + COMPLETION_TOKENS * prices["output_cost_per_token"])


def test_rate_limits_and_overload_are_retried_with_growing_delays(tmp_path: Path) -> None:
    replies = [Reply(status=429), Reply(status=503), *quick_script()]
    with TimedServer("openai", replies) as server:
        run = solve(tmp_path, server, "--model", PRICED, config="retry_base_s = 0.2")
    assert run.reason == "submitted", run.output
    assert len(server.requests) == 5 and server.violations == []
    retries = events(tmp_path, "model_retry")
    assert [(r["turn"], r["attempt"]) for r in retries] == [(1, 1), (1, 2)]
    assert "RateLimitError" in retries[0]["error"] and "ServiceUnavailable" in retries[1]["error"]
    first, second = (r["delay_s"] for r in retries)
    assert 0.1 <= first <= 0.2 <= second <= 0.4  # the base, then twice it, with jitter
    waited = [b - a for a, b in zip(server.arrived, server.arrived[1:], strict=False)]
    assert waited[0] >= first - 0.01 and waited[1] >= second - 0.01
    # the retried request is the same request
    assert server.requests[0].body == server.requests[1].body == server.requests[2].body
    # every request carries the same tool schemas: the run's tools, each an object schema
    for request in server.requests:
        tools = request.body["tools"]
        assert [t["function"]["name"] for t in tools] == TOOLS
        assert tools == server.requests[0].body["tools"]
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in server.requests[0].body["tools"]}
    assert all(s["type"] == "object" for s in schemas.values())
    assert schemas["read_file"]["required"] == ["path"]
    assert sorted(schemas["edit_file"]["required"]) == ["new", "old", "path"]
    assert {"ids", "mode", "timeout_s"} <= set(schemas["await_futures"]["properties"])
    # three answers were paid for; the refused requests cost nothing
    assert run.result["tokens"] == {"prompt": 3 * PROMPT_TOKENS, "completion": 3 * COMPLETION_TOKENS,
                                    "total": 3 * (PROMPT_TOKENS + COMPLETION_TOKENS),
                                    "cache_read": 0, "cache_write": 0}
    assert run.result["cost_usd"] == pytest.approx(3 * price_of_a_reply(), rel=1e-3)


def test_retries_run_out_into_an_infrastructure_error(tmp_path: Path) -> None:
    with WireServer("anthropic", [Reply(status=503)] * 5) as server:
        run = solve(tmp_path, server, config="max_retries = 2\nretry_base_s = 0.01")
    assert run.code == 3 and run.reason == "model_error", run.output
    assert len(server.requests) == 3  # the first attempt and two retries
    assert "Traceback" not in run.output


def test_a_refused_key_is_a_configuration_error_naming_the_variable(tmp_path: Path) -> None:
    with WireServer("openai", [Reply(status=401), *quick_script()]) as server:
        run = solve(tmp_path, server)
    assert run.code == 2 and run.reason == "model_config", run.output
    assert len(server.requests) == 1  # not retried: another attempt cannot fix a key
    assert "set OPENAI_API_KEY to a valid key" in run.result["error"]
    assert "Traceback" not in run.output


def test_the_cost_limit_stops_the_run_before_the_request_that_would_pass_it(tmp_path: Path) -> None:
    limit = 1.5 * price_of_a_reply()  # the second answer goes over it
    with WireServer("openai", quick_script()) as server:
        run = solve(tmp_path, server, "--model", PRICED, "--max-cost", str(limit))
    assert run.code == 4 and run.reason == "max_cost", run.output
    assert len(server.requests) == 2
    assert run.result["cost_usd"] == pytest.approx(2 * price_of_a_reply(), rel=1e-3)
