"""The context window at the wire: a long run fits a small window, Anthropic requests
carry cache breakpoints, Ollama requests carry the context size."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from support import git, make_repo
from wire.replies import Call, Reply
from wire.runs import Run, quick_script, solve_here
from wire.server import WireServer

WINDOW = 6000
RESERVE = 1500
READS = 14


def configure(repo: Path, toml: str) -> None:
    """A project config committed in the repository (the run reads asyncfc.toml there)."""
    (repo / "asyncfc.toml").write_text(toml)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "config")


def report_lines(out: Path) -> list[str]:
    """The terminal report of a run, as a wide colourless terminal shows it."""
    import io

    from asyncfc_agent.agent.timeline import RunTracker, load_events, summarize
    from asyncfc_agent.cli.report import terminal_report
    from rich.console import Console

    tracker = RunTracker.from_events(load_events(out))
    console = Console(width=160, color_system=None, file=io.StringIO(), record=True)
    console.print(terminal_report(tracker, summarize(tracker), 160))
    return [line.rstrip() for line in console.export_text().splitlines()]


def tokens(body: dict[str, Any]) -> int:
    """The size of a request as it went over the wire, counted whole by litellm."""
    from asyncfc_agent.agent.model import litellm_module

    return int(litellm_module().token_counter(
        model="gpt-4o", messages=body["messages"], tools=body.get("tools")))


def long_run(provider: str, tmp_path: Path) -> tuple[Run, WireServer, list[dict[str, Any]]]:
    """A run whose results add up to several times a small window, with a test run in
    flight until its last request; the run, the server, and the run's events."""
    repo = make_repo(tmp_path)
    for k in range(READS):
        lines = [f"chunk {k} line {i}: the parser reads a date, then a time, then a zone"
                 for i in range(110)]
        (repo / f"notes{k}.txt").write_text("\n".join(lines) + "\n")
    marker = tmp_path / "release"
    (repo / "test_slow.py").write_text(
        "import os, time\n\n\ndef test_slow():\n    end = time.time() + 300\n"
        f"    while not os.path.exists({str(marker)!r}) and time.time() < end:\n"
        "        time.sleep(0.05)\n"
    )
    configure(repo, f"[model]\ncontext_window = {WINDOW}\nresponse_reserve = {RESERVE}\n")
    replies = [Reply(text="Tests first.", calls=[Call.of("run_tests")])]
    replies += [Reply(text=f"Reading part {k}.", calls=[Call.of("read_file", path=f"notes{k}.txt")])
                for k in range(READS)]
    replies += [Reply(calls=[Call.of("await_futures")]), Reply(text="Read it all.")]
    with WireServer(provider, replies) as server:
        take = server._take

        def release_at_the_await(*args: Any) -> Any:
            n, reply = take(*args)
            if n == READS + 1:
                marker.touch()
            return n, reply

        server._take = release_at_the_await  # type: ignore[method-assign]
        run = solve_here(server, repo, tmp_path / "out", "--max-turns", "40")
    assert run.code in (0, 1), run.output
    assert run.reason == "submitted", run.output
    trajectory = (tmp_path / "out" / "trajectory.jsonl").read_text().splitlines()
    return run, server, [json.loads(line) for line in trajectory]


def test_a_long_run_fits_a_small_window(tmp_path: Path) -> None:
    run, server, events = long_run("compat", tmp_path)
    assert server.violations == []
    # the results add up to several times the window
    results = [e["result"] for e in events if e["kind"] == "future_resolved"]
    assert len(results) == READS + 1
    sent = sum(tokens({"messages": [{"role": "user", "content": r}]}) for r in results)
    assert sent > 3 * WINDOW
    # every request, counted whole as it was sent, stays under the window less the reserve
    sizes = [tokens(r.body) for r in server.requests]
    assert len(sizes) == READS + 3
    assert max(sizes) <= WINDOW - RESERVE, sizes
    compactions = [e for e in events if e["kind"] == "context_compacted"]
    assert len(compactions) >= 2
    assert all(e["tokens_after"] < e["tokens_before"] for e in compactions)
    # the report says how close it came
    requested = max(e["tokens"] for e in events if e["kind"] == "request_sent")
    shown = [line for line in report_lines(tmp_path / "out") if line.startswith("context:")]
    assert shown == [
        f"context: largest request {requested:,} of 4,050 tokens, {len(compactions)} compactions"]
    # the plain log says so, with the budget: (6000 - 1500) less a 10% margin
    logged = re.findall(r"context compacted: [\d,]+ -> [\d,]+ tokens of 4,050 ", run.output)
    assert len(logged) == len(compactions)
    # the test run was in flight through the compactions, and the model was told so
    assert all(any(f.startswith("f1 (run_tests") for f in e["in_flight"]) for e in compactions)
    told = [json.dumps(r.body) for r in server.requests if "Still in flight: f1 (run_tests" in json.dumps(r.body)]
    assert told
    # its result reached the model at the end, whole enough to show the failure
    last = json.dumps(server.requests[-1].body)
    assert "[f1 run_tests: resolved, exit 1" in last and "FAILED test_calc.py::test_add" in last


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["anthropic", "gemini", "ollama", "mistral"])
def test_compacted_histories_are_valid_for_every_provider(provider: str, tmp_path: Path) -> None:
    run, server, events = long_run(provider, tmp_path)
    assert server.violations == []
    assert len(server.requests) == READS + 3
    assert [e for e in events if e["kind"] == "context_compacted"]
    assert run.result["context"]["largest_request_tokens"] <= run.result["context"]["limit"]


def breakpoints(body: dict[str, Any]) -> list[str]:
    """Where an Anthropic request asks for cache breakpoints."""
    found = [f"tools[{i}]" for i, t in enumerate(body.get("tools") or []) if "cache_control" in t]
    system = body.get("system")
    if isinstance(system, list):
        found += [f"system[{i}]" for i, b in enumerate(system) if "cache_control" in b]
    for k, m in enumerate(body["messages"]):
        content = m["content"] if isinstance(m["content"], list) else []
        found += [f"messages[{k}].content[{i}]" for i, b in enumerate(content) if "cache_control" in b]
    return found


def test_anthropic_requests_cache_the_prefix_and_the_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with WireServer("anthropic", quick_script()) as server:
        run = solve_here(server, repo, tmp_path / "out")
    assert run.reason == "submitted", run.output
    assert server.violations == []
    marks = [breakpoints(r.body) for r in server.requests]
    assert all(len(m) <= 4 for m in marks)  # Anthropic refuses a fifth
    assert all("system[0]" in m for m in marks)
    for r, m in zip(server.requests, marks, strict=True):
        last = len(r.body["messages"]) - 1
        assert any(b.startswith(f"messages[{last}].") for b in m), m
    # from the second request on, the end of the request before is marked too: the
    # history it wrote to the cache is read back
    second = server.requests[1].body["messages"]
    assert len(marks[1]) == 3
    assert second[0]["role"] == "user" and "cache_control" in second[0]["content"][-1]
    assert "cache_read" in run.result["tokens"] and "cache_write" in run.result["tokens"]


def test_ollama_requests_carry_the_context_size(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    configure(repo, "[model]\ncontext_window = 16384\n")
    with WireServer("ollama", quick_script()) as server:
        run = solve_here(server, repo, tmp_path / "out")
    assert run.reason == "submitted", run.output
    assert server.violations == []
    assert [r.body.get("options", {}).get("num_ctx") for r in server.requests] == [16384] * 3


def test_other_providers_get_neither(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with WireServer("openai", quick_script()) as server:
        run = solve_here(server, repo, tmp_path / "out")
    assert run.reason == "submitted", run.output
    text = json.dumps([r.body for r in server.requests])
    assert "cache_control" not in text and "num_ctx" not in text


def test_anthropic_cache_reads_and_writes_are_counted_and_priced(tmp_path: Path) -> None:
    """The server reports what Anthropic reports once caching works: the first request
    writes the prefix, the later ones read it back and write their new part."""
    from asyncfc_agent.agent.model import litellm_module

    model = "anthropic/claude-sonnet-4-5"
    plain = b'"usage": {"input_tokens": 100, "output_tokens": 1}'
    usages = [(0, 2000), (2000, 150), (2150, 120)]  # (read, written) per request
    repo = make_repo(tmp_path)
    with WireServer("anthropic", quick_script()) as server:
        render = server.provider.render

        def with_cache(reply: Reply, n: int) -> Any:
            rendered = render(reply, n)
            read, written = usages[n - 1]
            cached = (f'"usage": {{"input_tokens": 100, "cache_read_input_tokens": {read}, '
                      f'"cache_creation_input_tokens": {written}, "output_tokens": 1}}').encode()
            rendered.frames[0] = rendered.frames[0].replace(plain, cached)
            assert cached in rendered.frames[0]
            return rendered

        server.provider = dataclasses.replace(server.provider, render=with_cache)
        run = solve_here(server, repo, tmp_path / "out", "--model", model)
    assert run.reason == "submitted", run.output
    assert server.violations == []
    tokens = run.result["tokens"]
    assert tokens["cache_read"] == 4150 and tokens["cache_write"] == 2270
    trajectory = (tmp_path / "out" / "trajectory.jsonl").read_text().splitlines()
    done = [e for e in map(json.loads, trajectory) if e["kind"] == "response_done"]
    assert [(e["cache_read_tokens"], e["cache_write_tokens"]) for e in done] == usages
    price = litellm_module().model_cost["claude-sonnet-4-5"]
    completion = tokens["completion"]
    expected = (3 * 100 * price["input_cost_per_token"]
                + 4150 * price["cache_read_input_token_cost"]
                + 2270 * price["cache_creation_input_token_cost"]
                + completion * price["output_cost_per_token"])
    assert run.result["cost_usd"] == pytest.approx(expected, rel=1e-3)
