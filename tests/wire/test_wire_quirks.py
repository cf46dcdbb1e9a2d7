"""Every provider's format with every quirk of real servers: the run goes on past it and
ends with exit 0 or 1 (or the quirk's own exit reason), no traceback, and the server saw
no request its provider would reject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import make_repo
from wire.quirks import QUIRKS, READS, cases, expected_end, first_replies
from wire.replies import Reply
from wire.runs import quick_script, solve_here, solve_process
from wire.server import WireServer


@pytest.mark.parametrize(("quirk", "provider"), cases(QUIRKS))
def test_the_run_goes_past_the_quirk_with_valid_requests(quirk: str, provider: str, tmp_path: Path) -> None:
    first = first_replies(quirk, provider)
    assert first is not None
    repo = make_repo(tmp_path)
    with WireServer(provider, first + quick_script()) as server:
        run = solve_here(server, repo, tmp_path / "out")
    assert "Traceback" not in run.output, run.output
    assert run.code in (0, 1), run.output
    assert server.violations == []
    assert run.reason == expected_end(quirk, provider), run.output
    if run.reason == "submitted":
        # it went on past the quirk: the edit of the script's second half was made
        assert "edit_file" in [f["tool"] for f in run.result["futures"]], run.output
    if quirk == "dropped_after_call":  # the model is told what was lost
        assert "broke off" in json.dumps(server.requests[1].body)


def test_a_connection_that_keeps_dropping_ends_as_an_infrastructure_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    replies = [Reply(text="Reading the code.", drop_after=3)] * 3
    with WireServer("anthropic", replies) as server:
        (tmp_path / "retries.toml").write_text("[model]\nmax_retries = 2\nretry_base_s = 0.01\n")
        run = solve_here(server, repo, tmp_path / "out", "--config", str(tmp_path / "retries.toml"))
    assert "Traceback" not in run.output, run.output
    assert run.code == 3 and run.reason == "model_error", run.output
    assert len(server.requests) == 3 and server.violations == []


@pytest.mark.slow
def test_a_real_process_goes_past_an_overload_and_a_drop_mid_stream(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    first = [Reply(text="Reading the code.", calls=READS, error_after=8),
             Reply(text="Reading the code.", calls=READS, drop_after=4)]
    with WireServer("anthropic", first + quick_script()) as server:
        run = solve_process(server, repo, tmp_path / "out", tmp_path / "home")
    assert "Traceback" not in run.output, run.output
    assert run.code in (0, 1) and run.reason == "submitted", run.output
    assert server.violations == []
    assert [f["tool"] for f in run.result["futures"]] == ["read_file", "grep", "edit_file"]
