"""Commands that try to exhaust the host: gigabytes of output, a full disk, a million
files. Each is stopped or capped with a clear result while the agent's memory and the
host's disk stay bounded; the run ends cleanly and leaves no container."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import git, make_repo, session_containers, solve_cmd, write_script

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


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1.2 GB filesystem with 40000 inodes for the agent's worktrees and snapshots.

    The guard looks every 0.1 s: the room above the reserve (about 1 GB here) must take a
    writer longer than that to fill, even at the speed of memory, or the test would race it."""
    if os.geteuid() != 0:
        pytest.skip("mounts a tmpfs: needs root")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200m,nr_inodes=40000", "tmpfs", str(where)],
                   check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _run(command: str, **more: Any) -> dict[str, Any]:
    return {"name": "run", "args": {"command": command, **more}}


@pytest.mark.parametrize("sandbox", ["docker", "local"])
def test_filling_the_disk_or_its_inodes_is_stopped_before_the_host_runs_out(
    tmp_path: Path, small_disk: Path, sandbox: str, request: pytest.FixtureRequest
) -> None:
    if sandbox == "docker":
        request.getfixturevalue("docker_image")
    calls = [
        {"name": "write_file", "args": {"path": "notes.txt", "content": "kept\n"}},
        # a sparse terabyte: past the file size limit (Docker only: the local sandbox has none)
        _run("truncate -s 1T sparse" if sandbox == "docker" else "true"),
        _run("i=0; while head -c 10000000 /dev/zero > fill$i; do i=$((i+1)); done; echo full"),
        _run("true", readonly=True),  # a snapshot now would go below the reserve
        _run("rm -f fill*; echo freed"),
        _run("python3 -c \"[open('many%d' % i, 'w').close() for i in range(1000000)]\""),
        _run("find . -maxdepth 1 -name 'many*' -delete; echo cleaned"),
    ]
    repo = make_repo(tmp_path)
    script = write_script(tmp_path, {"turns": [
        {"tool_calls": calls}, {"tool_calls": [{"name": "await_futures", "args": {}}]}, {"text": "done"},
    ]})
    config = tmp_path / "asyncfc.toml"
    config.write_text('[sandbox]\ndisk_reserve = "150m"\ninode_reserve = 20000\nmax_file_size = "50m"\n')
    out = tmp_path / "out"
    env = {**os.environ, "ASYNCFC_HOME": str(small_disk / "home")}
    proc = subprocess.run(solve_cmd(repo, script, out, "--config", str(config), sandbox=sandbox),
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    ends = resolved(out)
    print({f: (e["status"], e["duration_s"], e["result"][:200]) for f, e in ends.items()})
    if sandbox == "docker":
        assert ends["f2"]["status"] == "failed"
        assert "stopped: the command wrote a file past 50m (sandbox.max_file_size)" in ends["f2"]["result"]
    assert ends["f3"]["status"] == "failed"
    assert "stopped: less than 150m left free on the disk of" in ends["f3"]["result"]
    assert "No space left" not in ends["f3"]["result"] and "full" not in ends["f3"]["result"]
    assert ends["f4"]["status"] == "failed"
    assert "snapshot refused: a copy of the workspace" in ends["f4"]["result"]
    assert ends["f5"]["status"] == "resolved" and "freed" in ends["f5"]["result"]
    assert ends["f6"]["status"] == "failed"
    assert "fewer than 20000 free inodes left" in ends["f6"]["result"]
    assert "too many files" in ends["f6"]["result"]
    assert ends["f7"]["status"] == "resolved" and "cleaned" in ends["f7"]["result"]
    branch = next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("branch:"))
    assert git(repo, "show", f"{branch}:notes.txt") == "kept\n"
    assert session_containers(small_disk) == []


def test_a_million_files_are_stopped_by_the_new_files_limit(tmp_path: Path, docker_image: str) -> None:
    repo = make_repo(tmp_path)
    script = write_script(tmp_path, {"turns": [
        {"tool_calls": [
            _run("python3 -c \"[open('many%d' % i, 'w').close() for i in range(1000000)]\""),
            _run("ls | wc -l"),
        ]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]}, {"text": "done"},
    ]})
    config = tmp_path / "asyncfc.toml"
    config.write_text("[sandbox]\nmax_new_files = 3000\n")
    out = tmp_path / "out"
    env = {**os.environ, "ASYNCFC_HOME": str(tmp_path / "home")}
    proc = subprocess.run(solve_cmd(repo, script, out, "--config", str(config), sandbox="docker"),
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    ends = resolved(out)
    print({f: (e["status"], e["duration_s"], e["result"][:200]) for f, e in ends.items()})
    assert ends["f1"]["status"] == "failed"
    assert "stopped: more than 3000 new files on the disk of" in ends["f1"]["result"]
    assert ends["f2"]["status"] == "resolved"
    created = int(ends["f2"]["result"].split("\n")[1])
    assert 3000 < created < 1_000_000
    assert session_containers(tmp_path / "home") == []
