"""Commands that attack host git: a hostile ``.git``, a nested repository, attributes, odd
file names, a big sparse file, a symlink to a host secret. Host git must run none of
what they plant, commit from the git directory it recorded, and end the run cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from support import git
from support_hostile import Hostile, assert_contained, hostile, run_calls, sh

#: A git config whose every command-running key touches the marker.
EVIL_CONFIG = (
    "[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = \\\"touch {m}\\\"\\n"
    "\\tpager = touch {m}\\n\\thooksPath = hooks\\n\\tsshCommand = touch {m}\\n"
    "[diff]\\n\\texternal = touch {m}\\n[filter \\\"evil\\\"]\\n\\tclean = touch {m}\\n"
)


def evil_gitdir(path: str, marker: Path) -> str:
    """Shell that makes ``path`` a git directory whose config and hooks touch ``marker``."""
    hook = f"#!/bin/sh\\ntouch {marker}\\n"
    return (
        f"mkdir -p {path}/hooks {path}/objects {path}/refs/heads && "
        f"printf '{EVIL_CONFIG.format(m=marker)}' > {path}/config && "
        f"printf 'ref: refs/heads/main\\n' > {path}/HEAD && "
        f"for h in pre-commit post-commit post-index-change reference-transaction; do "
        f"printf '{hook}' > {path}/hooks/$h; chmod +x {path}/hooks/$h; done"
    )


def note() -> dict[str, object]:
    return {"name": "write_file", "args": {"path": "note.txt", "content": "kept\n"}}


def committed(h: Hostile, path: str) -> str:
    return str(git(h.repo, "show", f"{h.result['branch']}:{path}"))


@pytest.mark.docker
@pytest.mark.slow
def test_docker_git_attacks_run_nothing_on_the_host(tmp_path: Path, docker_image: str) -> None:
    h = hostile(tmp_path)
    m = h.marker
    h = run_calls(h, [
        # the .git file is mounted read-only over itself: these fail inside the container
        sh(f"rm -rf .git; mkdir .git; {evil_gitdir('.git', m)}; echo 'gitdir: {tmp_path}' > .git; true"),
        # a nested repository (git add -A must not enter it), attributes naming a filter and
        # an encoding git cannot apply (the commit must not depend on them)
        sh(f"mkdir sub && {evil_gitdir('sub/.git', m)} && echo x > sub/f && "
           f"printf '* filter=evil diff=evil working-tree-encoding=NOPE-ENC\\n' > .gitattributes"),
        note(),
    ], sandbox="docker")
    assert_contained(h)
    assert h.proc is not None and h.proc.returncode == 1, h.proc.stderr
    assert h.result["status"] == "unsolved" and h.result["exit_reason"] == "submitted"
    assert committed(h, "note.txt") == "kept\n"


@pytest.mark.docker
@pytest.mark.slow
def test_docker_odd_files_commit_safely(tmp_path: Path, docker_image: str) -> None:
    h = hostile(tmp_path)
    make = ("import os\n"
            "for n in [b'new\\nline', b'ctl\\x1b[31mred', b'-rf', b'--help', b'bad\\xff\\xfe']:\n"
            "    open(n, 'wb').write(b'x\\n')\n"
            "open('blob.bin', 'wb').write(bytes(range(256)) * 4)\n"
            # sparse, over workarea.max_file_bytes (10 MiB) and under sandbox.max_file_size
            "open('big.img', 'wb').truncate(50 << 20)\n")
    h = run_calls(h, [
        {"name": "write_file", "args": {"path": "make.py", "content": make}},
        sh(f"python3 make.py && rm make.py && ln -s {h.secret} leak && ln -s /etc/shadow shadow"
           " && rm calc.py && mkfifo calc.py"),  # git add refuses a FIFO where a file was
    ], sandbox="docker")
    assert_contained(h)
    assert h.proc is not None and h.proc.returncode == 1, h.proc.stderr
    result = h.result
    assert result["left_out"] == ["big.img", "calc.py"]
    assert any("big.img" in n and "left out" in n for n in h.notices()), h.notices()
    assert any(n.endswith("not a file, link or directory: calc.py") for n in h.notices())
    branch = result["branch"]
    tree = subprocess.run(["git", "ls-tree", "-z", branch], cwd=h.repo, capture_output=True,
                          check=True).stdout.split(b"\0")
    entries = {e.split(b"\t", 1)[1]: e.split(b" ")[0] for e in tree if e}
    assert entries[b"leak"] == b"120000" and entries[b"shadow"] == b"120000"  # links, never followed
    assert committed(h, "leak") == str(h.secret)
    assert {b"new\nline", b"ctl\x1b[31mred", b"-rf", b"--help", b"bad\xff\xfe", b"blob.bin"} <= set(entries)
    assert b"big.img" not in entries and b"calc.py" in entries  # as it was
    # the patch (bytes) applies to the base as it is
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(h.repo), str(clone))
    subprocess.run(["git", "apply", "--check", str(h.out / "patch.diff")], cwd=clone, check=True)


@pytest.mark.slow
@pytest.mark.parametrize("attack", ["directory", "gitdir"])
def test_local_fsmonitor_attack_is_ignored_and_reported(tmp_path: Path, attack: str) -> None:
    """The local sandbox cannot stop a command rewriting .git: host git must not follow it."""
    h = hostile(tmp_path)
    evil = tmp_path / "evil.git"
    if attack == "directory":
        swap = f"rm -f .git && {evil_gitdir('.git', h.marker)}"
    else:
        swap = f"{evil_gitdir(str(evil), h.marker)} && echo 'gitdir: {evil}' > .git"
    # repo_map lists files with git on the host too
    h = run_calls(h, [sh(swap), {"name": "repo_map", "args": {}}, note()], sandbox="local")
    assert_contained(h)
    assert h.proc is not None and h.proc.returncode == 1, h.proc.stderr
    assert committed(h, "note.txt") == "kept\n"
    changed = [n for n in h.notices() if ".git entry was changed" in n]
    assert changed and "ignored" in changed[0], h.notices()


def test_inherited_git_variables_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from asyncfc_agent.agent import workarea

    h = hostile(tmp_path)
    monkeypatch.setenv("ASYNCFC_HOME", str(h.home))
    for key, value in {"GIT_DIR": str(tmp_path / "elsewhere"), "GIT_WORK_TREE": str(tmp_path),
                       "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.fsmonitor",
                       "GIT_CONFIG_VALUE_0": f"touch {h.marker}",
                       "GIT_EXTERNAL_DIFF": f"touch {h.marker}"}.items():
        monkeypatch.setenv(key, value)
    area = workarea.prepare(h.repo, run_id="env", slug="env")
    (area.path / "note.txt").write_text("kept\n")
    assert b"+kept" in area.patch() and area.commit("note") is not None
    area.remove()
    assert not h.marker.exists() and not (tmp_path / "elsewhere").exists()
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert git(h.repo, "show", "asyncfc/env:note.txt") == "kept\n"


UNREADABLE = """
import os, sys
from pathlib import Path
from asyncfc_agent.agent import owners, workarea  # imported before the privileges go
os.setgid(65534)
os.setuid(65534)
area = workarea.prepare(Path(sys.argv[1]), run_id="perm", slug="perm")
(area.path / "note.txt").write_text("kept\\n")
(area.path / "locked.txt").write_text("x\\n")
for name in ("calc.py", "locked.txt"):
    os.chmod(area.path / name, 0)
print(area.commit("note"), area.take_notices())
area.remove()
"""


@pytest.mark.skipif(os.getuid() != 0, reason="makes a user without the permissions it takes away")
def test_files_a_command_made_unreadable_stay_out() -> None:
    """As any user but root, git cannot read a file whose permissions a command removed,
    and its whole add failed."""
    base = Path(tempfile.mkdtemp(prefix="asyncfc-perm-"))  # pytest's folders are root's only
    try:
        h = hostile(base)
        h.home.mkdir()
        for path in (base, *base.rglob("*")):
            os.lchown(path, 65534, 65534)
        os.chmod(base, 0o755)
        env = {**os.environ, "ASYNCFC_HOME": str(h.home)}
        done = subprocess.run([sys.executable, "-c", UNREADABLE, str(h.repo)], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "not readable (a command took the permission away): calc.py, locked.txt" in done.stdout
        assert git(h.repo, "-c", "safe.directory=*", "show", "asyncfc/perm:note.txt") == "kept\n"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.docker
def test_sandbox_run_in_place_cannot_plant_git_config(tmp_path: Path, docker_image: str) -> None:
    """--in-place mounts the repository itself; its .git stays read-only, so a command
    cannot plant what the user's next git command would run."""
    h = hostile(tmp_path)
    config = (h.repo / ".git" / "config").read_text()
    attack = (f"echo written > made.txt; git config core.fsmonitor 'touch {h.marker}'; "
              f"echo '[core]' >> .git/config; {evil_gitdir('.git/../.git', h.marker)}; true")
    done = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "sandbox", "run",
                           "--in-place", "--repo", str(h.repo), "--", attack],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert (h.repo / "made.txt").read_text() == "written\n"  # in place indeed
    assert (h.repo / ".git" / "config").read_text() == config
    assert not (h.repo / ".git" / "hooks" / "pre-commit").exists()
    git(h.repo, "-c", "safe.directory=*", "status")  # the user's next git command
    assert not h.marker.exists()
