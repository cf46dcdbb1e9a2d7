"""The disk under ``--out`` fills while the run writes its record: the run stops with a
clear error and exit code 3, no traceback, and its work stays committed on its branch."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import git, make_repo, solve_cmd, write_script

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs: needs root")


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "tiny"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_full_disk_under_out_ends_the_run_cleanly_with_the_work_kept(
    tmp_path: Path, tiny_disk: Path, sandbox: str, request: pytest.FixtureRequest
) -> None:
    if sandbox == "docker":
        request.getfixturevalue("docker_image")
    repo = make_repo(tmp_path)
    script = write_script(tmp_path, {"turns": [
        {"tool_calls": [{"name": "write_file", "args": {"path": "notes.txt", "content": "kept\n"}}]},
        # about 600 kB of output events: more than the 64 kB the record may take
        {"tool_calls": [{"name": "run", "args": {"command": "seq 1 100000", "readonly": True}}]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"text": "done"},
    ]})
    env = {**os.environ, "ASYNCFC_HOME": str(tmp_path / "home")}
    proc = subprocess.run(solve_cmd(repo, script, tiny_disk / "out", sandbox=sandbox),
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error:    cannot write the trajectory" in proc.stdout
    assert "No space left on device" in proc.stdout
    branch = next(line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("branch:"))
    assert git(repo, "show", f"{branch}:notes.txt") == "kept\n"
    assert git(repo, "status", "--porcelain") == ""  # the user's tree is untouched
    assert not (tiny_disk / "out" / "result.json").exists()  # no torn record
