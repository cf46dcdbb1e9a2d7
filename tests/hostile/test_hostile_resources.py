"""Commands that try to exhaust the host: gigabytes of output, a full disk, a million
files. Each is stopped or capped with a clear result while the agent's memory and the
host's disk stay bounded; the run ends cleanly and leaves no container."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import make_repo, session_containers, solve_cmd, write_script

pytestmark = [pytest.mark.docker, pytest.mark.slow]

#: Runs a command and writes the peak RSS (KiB) of its process tree to a file.
_PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(code)"
)


def solve_measured(
    tmp_path: Path, name: str, calls: list[dict[str, Any]], *extra: str
) -> tuple[subprocess.CompletedProcess[str], int, Path]:
    """A Docker ``solve`` whose model makes ``calls``, its peak RSS in KiB, and its --out."""
    (tmp_path / name).mkdir()
    repo = make_repo(tmp_path / name)
    script = write_script(tmp_path, {"turns": [
        {"tool_calls": calls},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"text": "done"},
    ]}, f"{name}.yaml")
    out, peak = tmp_path / f"out-{name}", tmp_path / f"{name}.rss"
    env = {**os.environ, "ASYNCFC_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(peak),
         *solve_cmd(repo, script, out, *extra, sandbox="docker")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    return proc, int(peak.read_text()), out


def resolved(out: Path) -> dict[str, dict[str, Any]]:
    events = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    return {e["future"]: e for e in events if e["kind"] == "future_resolved"}


def test_gigabytes_of_output_cost_neither_memory_nor_disk(tmp_path: Path, docker_image: str) -> None:
    base, base_kib, _ = solve_measured(tmp_path, "baseline", [
        {"name": "run", "args": {"command": "echo hello"}},
    ])
    assert base.returncode == 1, base.stdout + base.stderr  # answered without tests: unsolved
    flood, flood_kib, out = solve_measured(tmp_path, "flood", [
        # 1.5 GB that ends, and a flood that never does, stopped by its timeout
        {"name": "run", "args": {"command": "yes | head -c 1500000000; echo END", "timeout_s": 600}},
        {"name": "run", "args": {"command": "yes", "timeout_s": 5, "readonly": True}},
    ])
    assert flood.returncode == 1, flood.stdout + flood.stderr
    assert "Traceback" not in flood.stderr
    ends = resolved(out)
    assert ends["f1"]["status"] == "resolved" and ends["f1"]["exit_code"] == 0
    assert "characters cut" in ends["f1"]["result"] and "END" in ends["f1"]["result"]
    assert ends["f2"]["status"] == "timed out"
    trajectory = (out / "trajectory.jsonl").stat().st_size
    print(f"peak RSS {base_kib} KiB baseline, {flood_kib} KiB flood; trajectory {trajectory} bytes")
    assert flood_kib - base_kib < 150 * 1024, (base_kib, flood_kib)  # vs 1.5 GB printed
    assert trajectory < 5 << 20
    assert session_containers(tmp_path / "home") == []
