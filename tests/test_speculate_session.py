"""Speculative and memoized futures in whole runs: the real CLI, the scripted model through
litellm, the local sandbox (and Docker, marked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import run_solve, write_script

#: The model runs the tests, fixes the bug, thinks, runs the tests again (the call the
#: executor started ahead of it at the edit), awaits them, then runs them once more on the
#: same revision (reused: nothing runs), and answers.
SCRIPT: dict[str, Any] = {
    "profile": {"ttft_s": 0.0, "tokens_per_s": 100},
    "turns": [
        {"text": "Run the tests.", "tool_calls": [{"name": "run_tests", "args": {}}]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"tool_calls": [{"name": "edit_file",
                         "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}}]},
        # a model thinks before its next call: the speculative run starts meanwhile
        {"think_tokens": 300, "tool_calls": [{"name": "run_tests", "args": {}}]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"tool_calls": [{"name": "run_tests", "args": {}}]},
        {"text": "add() adds now."},
    ],
}


def events(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]


def solve(repo: Path, tmp_path: Path, home: Path, mode: str, sandbox: str = "local") -> list[dict[str, Any]]:
    out = tmp_path / f"out-{mode}"
    proc = run_solve(repo, write_script(tmp_path, SCRIPT), out, home, "--mode", mode, sandbox=sandbox)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "solved"
    return events(out)


def check_async_run(evs: list[dict[str, Any]]) -> None:
    created = {e["future"]: e for e in evs if e["kind"] == "future_created"}
    edit = next(e for e in evs if e["kind"] == "workspace_edited")
    speculative = [f for f, e in created.items() if e.get("speculative")]
    assert speculative[:1] == ["s1"], speculative
    assert created["s1"]["t"] >= edit["t"]
    assert created["s1"]["t"] < created["f3"]["t"]  # started before the model asked
    joins = {e["future"]: e for e in evs if e["kind"] == "future_joined"}
    assert joins["f3"]["source"] == "s1" and joins["f3"]["speculative"]
    assert joins["f4"]["source"] in ("s1", "f3") and joins["f4"]["reused"]
    # the model's ids stay f1..f4; nothing it is given names a speculative future
    assert sorted(f for f in created if not created[f].get("speculative")) == ["f1", "f2", "f3", "f4"]
    given = [e["result"] for e in evs if e["kind"] == "future_resolved" and e["future"].startswith("f")]
    assert not any("s1" in text for text in given)
    resolved = {e["future"]: e for e in evs if e["kind"] == "future_resolved"}
    assert resolved["f3"]["exit_code"] == 0 and "speculative start" in resolved["f3"]["result"]
    assert "nothing ran again" in resolved["f4"]["result"]


def test_the_call_after_the_edit_joins_the_run_started_at_the_edit(
    repo: Path, tmp_path: Path, home: Path
) -> None:
    check_async_run(solve(repo, tmp_path, home, "async"))


@pytest.mark.parametrize("mode", ["sync", "parallel"])
def test_no_speculation_nor_reuse_in_sync_and_parallel_mode(
    repo: Path, tmp_path: Path, home: Path, mode: str
) -> None:
    evs = solve(repo, tmp_path, home, mode)
    assert not [e for e in evs if e["kind"] == "future_created" and e.get("speculative")]
    assert not [e for e in evs if e["kind"] == "future_joined"]
    assert len([e for e in evs if e["kind"] == "future_created"]) == 4


def test_no_speculate_switch(repo: Path, tmp_path: Path, home: Path) -> None:
    out = tmp_path / "out"
    proc = run_solve(repo, write_script(tmp_path, SCRIPT), out, home, "--no-speculate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(out)
    assert not [e for e in evs if e["kind"] == "future_created" and e.get("speculative")]
    joins = [e for e in evs if e["kind"] == "future_joined"]
    assert [(j["future"], j["source"], j["reused"]) for j in joins] == [("f4", "f3", True)]


@pytest.mark.docker
def test_the_call_after_the_edit_joins_the_run_started_at_the_edit_in_docker(
    repo: Path, tmp_path: Path, home: Path, docker_image: str
) -> None:
    check_async_run(solve(repo, tmp_path, home, "async", sandbox="docker"))
