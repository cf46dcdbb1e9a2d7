"""What the repository's git directory, mounted for git in the sandbox, gives away, and
what a project's image may run before the runner."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from support import git
from support_hostile import SECRET, assert_contained, hostile, run_calls, sh


@pytest.mark.docker
@pytest.mark.slow
def test_docker_git_config_credentials_and_image_entrypoint(tmp_path: Path, docker_image: str) -> None:
    h = hostile(tmp_path)
    # what a CI checkout leaves in the repository's config
    git(h.repo, "config", "remote.origin.url", f"https://x:{SECRET}@example.com/calc.git")
    git(h.repo, "config", "http.https://example.com/.extraheader", f"AUTHORIZATION: basic {SECRET}")
    sub = h.repo / ".git" / "modules" / "lib"  # a submodule's git directory
    sub.mkdir(parents=True)
    (sub / "config").write_text(f'[http "https://example.com/"]\n\textraheader = basic {SECRET}\n')
    tag = f"asyncfc-redteam-entry:{uuid.uuid4().hex[:8]}"
    dockerfile = (f"FROM {docker_image}\n"
                  'ENTRYPOINT ["/bin/sh", "-c", "echo entry > /workspace/ENTRY; exec \\"$0\\" \\"$@\\""]\n')
    subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=dockerfile, text=True,
                   check=True, capture_output=True)
    try:
        (h.repo / "asyncfc.toml").write_text(f'[sandbox]\nimage = "{tag}"\n')
        git(h.repo, "add", "asyncfc.toml")
        git(h.repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "image")
        h = run_calls(h, [sh('c="$(git rev-parse --git-common-dir)"; cat $c/config $c/modules/lib/config; '
                             'git config --list; '
                             "git log --format=%s -1; tr '\\0' ' ' < /proc/1/cmdline; ls")],
                      sandbox="docker")
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    assert_contained(h)  # the secret is in no output, so in no record
    output = h.trajectory
    assert "image\\n" in output  # git in the sandbox still reads the history
    assert "No such file" not in output  # both configs were there to read, empty
    assert "runner.py" in output and "ENTRY" not in output  # the runner is PID 1, nothing before it
