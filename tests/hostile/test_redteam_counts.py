"""Huge counts a command can make: tens of thousands of changed files must not turn every
later result the model reads (its stale-file list) or the HTML report into a list of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support_hostile import hostile, run_calls, sh

FILES = 20_000


@pytest.mark.slow
def test_many_changed_files_are_counted_not_listed(tmp_path: Path) -> None:
    h = hostile(tmp_path)
    config = tmp_path / "cfg.toml"
    # a whole-workspace reader on a snapshot, still running while the files appear: it
    # ends when a command ordered after the one making them (both write) says so
    flag = tmp_path / "made"
    config.write_text(f'[tools]\ntest_command = "while [ ! -e {flag} ]; do sleep 0.1; done"\n')
    many = f"mkdir d && cd d && seq -f 'f%06g' 1 {FILES} | xargs touch"
    h = run_calls(h, [{"name": "run_tests", "args": {}}, sh(many), sh(f"touch {flag}")],
                  "--config", str(config), sandbox="local")
    assert h.proc is not None and "Traceback" not in h.proc.stderr, h.proc.stderr
    results = {}
    for line in h.trajectory.splitlines():
        event = json.loads(line)
        if event.get("kind") == "future_resolved":
            results[event["future"]] = str(event["result"])
    head = results["f1"].split("\n", 1)[0]
    assert "edited since: d/f000001, " in head and f"({FILES - 20:,} more)" in head, head[:300]
    assert len(head) < 1000
    page = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "report", str(h.out), "--html",
                           str(page)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert "d/f000001" in text and "d/f019999" not in text


def test_the_ci_step_summary_counts_many_changed_files() -> None:
    from asyncfc_agent.cli import ci_report

    files = [f"d/f{i:06d}" for i in range(1, FILES + 1)]
    rep = {"exit_code": 1, "exit_reason": "submitted", "reason": "not solved", "issue": {},
           "files_changed": files, "ledger": []}
    summary = ci_report.markdown(rep)
    assert "`d/f000001`" in summary and "`d/f019999`" not in summary
    assert f"({FILES - 20:,} more)" in summary and len(summary) < 5000
